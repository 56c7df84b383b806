package dev.falgate.job;

import java.io.IOException;
import java.net.URI;
import java.util.Optional;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.core.io.Resource;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import dev.falgate.access.Caller;
import dev.falgate.archive.Archive;
import dev.falgate.callback.Callbacks;
import dev.falgate.web.ApiException;
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;
import dev.falgate.access.SignedUrls;
import dev.falgate.access.StreamSlots;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import tools.jackson.databind.JsonNode;

@RestController
@RequestMapping("/v1/jobs")
@Tag(name = "Jobs", description = "Submit extend requests and follow them to their end")
class JobController {

    private static final String NOT_FOUND = "No such job: an unknown or malformed id, or another client's job (not_found)";

    private final JobService jobs;
    private final JobHistory history;
    private final JobEvents events;
    private final StreamSlots streamSlots;
    private final Archive archive;
    private final JobResources resources;
    private final Callbacks callbacks;

    JobController(JobService jobs, JobHistory history, JobEvents events, StreamSlots streamSlots, Archive archive,
            JobResources resources, Callbacks callbacks) {
        this.callbacks = callbacks;
        this.archive = archive;
        this.resources = resources;
        this.jobs = jobs;
        this.history = history;
        this.events = events;
        this.streamSlots = streamSlots;
    }

    /** The body is taken as a JSON tree so the validator sees exact types and every field, unknown ones too. */
    @Operation(operationId = "submitJob", summary = "Submit an extend request", description = """
            The body is fal's input for fal-ai/ltx-video-v097/extend plus optional metadata. Answers 202 with the job
            (its effective input has fal's defaults filled in) and Location. Unknown fields, wrong JSON types and
            out-of-range values: 400 naming every field. Idempotency-Key: the same key and body again answer 200 with
            the same job and Idempotent-Replayed: true; another body 422.""",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(ref = "#/components/schemas/" + JobApiDocs.SUBMIT_REQUEST),
                    examples = @ExampleObject("""
                            {"input": {"prompt": "Woman walking on a street in Tokyo", "resolution": "720p",
                                       "video": {"video_url": "https://example.com/in.mp4", "start_frame_num": 24}},
                             "metadata": {"order_id": "A-1001"}}"""))))
    @ApiResponse(responseCode = "202", description = "The new job, queued",
            headers = @Header(name = "Location", description = "/v1/jobs/{id}", schema = @Schema(type = "string")),
            content = @Content(schema = @Schema(implementation = JobResource.class)))
    @ApiResponse(responseCode = "200", description = "The job made earlier with this Idempotency-Key and body",
            headers = {
                    @Header(name = "Idempotent-Replayed", description = "true", schema = @Schema(type = "string")),
                    @Header(name = "Location", description = "/v1/jobs/{id}", schema = @Schema(type = "string"))},
            content = @Content(schema = @Schema(implementation = JobResource.class)))
    @ApiResponse(responseCode = "402", description = "Over the client's monthly budget (budget_exceeded)")
    @ApiResponse(responseCode = "422", description = "The Idempotency-Key was used before with another body "
            + "(idempotency_key_reused)")
    @RequiresScope(Scope.JOBS_CREATE)
    @PostMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobResource> submit(Caller caller, @RequestBody JsonNode body,
            @Parameter(description = "1 to 255 printable ASCII characters, scoped to the client, kept at least 24 hours")
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey) {
        JobService.Submission submission = jobs.accept(caller, body, idempotencyKey);
        Job job = submission.job();
        ResponseEntity.BodyBuilder answer = submission.replayed()
                ? ResponseEntity.ok().header("Idempotent-Replayed", "true")
                : ResponseEntity.accepted();
        return answer.location(URI.create("/v1/jobs/" + job.id())).body(resources.of(job)); // a replay may show a completed job
    }

    @Operation(operationId = "cancelJob", summary = "Cancel a job", description = """
            A queued job is cancelled at once and never reaches fal; a job at fal gets fal's cancel call (one already
            running may still complete, and is then charged).""")
    @ApiResponse(responseCode = "202", description = "Cancelled, or fal asked to cancel",
            content = @Content(schema = @Schema(implementation = JobResource.class)))
    @ApiResponse(responseCode = "404", description = NOT_FOUND)
    @ApiResponse(responseCode = "409", description = "The job already ended (conflict)")
    @RequiresScope(Scope.JOBS_CREATE)
    @PostMapping(path = "/{id}/cancel", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobResource> cancel(Caller caller, @PathVariable String id) {
        return ResponseEntity.accepted().body(JobResource.of(jobs.cancel(caller, id)));
    }

    /** The parameters arrive as one map so that an unknown one is named in a 400, not silently ignored. */
    @Operation(operationId = "listJobs", summary = "Job history, newest first", description = """
            ops:read lists every client's jobs, jobs:read only its own. Paged with `next_cursor`, which neither skips nor
            repeats a job while new ones arrive. With Accept: text/csv the matching jobs (every one, or `limit`) stream
            as CSV instead.""")
    @Parameter(name = "status", in = ParameterIn.QUERY, schema = @Schema(implementation = JobStatus.class))
    @Parameter(name = "client", in = ParameterIn.QUERY, description = "Only this client's jobs (ops:read)",
            schema = @Schema(type = "string"))
    @Parameter(name = "created_from", in = ParameterIn.QUERY, description = "RFC 3339, inclusive",
            schema = @Schema(type = "string", format = "date-time"))
    @Parameter(name = "created_to", in = ParameterIn.QUERY, description = "RFC 3339, exclusive",
            schema = @Schema(type = "string", format = "date-time"))
    @Parameter(name = "limit", in = ParameterIn.QUERY, schema = @Schema(type = "integer", minimum = "1",
            maximum = "" + JobService.MAX_PAGE, defaultValue = "" + JobService.DEFAULT_PAGE))
    @Parameter(name = "cursor", in = ParameterIn.QUERY, description = "`next_cursor` of the page before",
            schema = @Schema(type = "string"))
    @Parameter(name = "sandbox", in = ParameterIn.QUERY, description = "true: sandbox keys' jobs alone; default false "
            + "(true for a sandbox key)", schema = @Schema(type = "boolean"))
    @ApiResponse(responseCode = "200", description = "A page of jobs, or with Accept: text/csv every matching job",
            content = {
                    @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                            schema = @Schema(implementation = JobHistory.Page.class)),
                    @Content(mediaType = "text/csv", schema = @Schema(type = "string",
                            description = "RFC 4180, header row: " + JobHistory.CSV_COLUMNS))})
    @ApiResponse(responseCode = "403", description = "The API key holds neither scope, or has jobs:read only and names "
            + "another client (forbidden)")
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    JobHistory.Page history(Caller caller, @Parameter(hidden = true) @RequestParam Map<String, String> query) {
        JobHistory.Filter filter = jobs.historyFilter(caller, query);
        JobHistory.Page page = history.page(filter, filter.limit() == null ? JobService.DEFAULT_PAGE : filter.limit());
        return new JobHistory.Page(resources.withArchive(page.data()), page.nextCursor());
    }

    /**
     * The same rows as CSV for spreadsheets: every matching job (or {@code limit} of them). Written on the request's
     * own thread, so no async timeout can cut a download that is making progress; a client that stops reading is
     * dropped by the connection's write timeout. Holds one of the key's stream slots while it runs.
     */
    @Operation(hidden = true) // documented with the JSON variant above: one operation, two media types
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(produces = "text/csv")
    void historyCsv(Caller caller, @RequestParam Map<String, String> query, HttpServletRequest request,
            HttpServletResponse response)
            throws IOException {
        JobHistory.Filter filter = jobs.historyFilter(caller, query);
        if (HttpMethod.HEAD.matches(request.getMethod())) {
            response.setContentType("text/csv;charset=UTF-8"); // the headers a GET would have, without the export
            return;
        }
        try (StreamSlots.Slot slot = streamSlots.open(caller, () -> { })) { // a revoked key's export finishes
            response.setContentType("text/csv;charset=UTF-8");
            response.setHeader("Content-Disposition", "attachment; filename=\"falgate-jobs.csv\"");
            history.writeCsv(filter, response.getOutputStream());
        }
    }

    @Operation(operationId = "followJob", summary = "Follow a job as Server-Sent Events", description = """
            A `status` event with the job resource as one line of JSON in `data:` at connect and at every change,
            ending after the terminal one; keep-alives are SSE comments.""")
    @ApiResponse(responseCode = "200", description = "The event stream",
            content = @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE, schema = @Schema(type = "string",
                    example = "event:status\ndata:{\"id\": \"...\", \"status\": \"queued\", ...}\n\n")))
    @ApiResponse(responseCode = "404", description = NOT_FOUND)
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = "/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    ResponseEntity<SseEmitter> events(Caller caller, @PathVariable String id, HttpServletRequest request) {
        Job job = jobs.find(caller, id);
        if (HttpMethod.HEAD.matches(request.getMethod())) {
            // a HEAD answer has no body, so a stream behind it would never fail a write and end: none is opened
            return ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM).build();
        }
        return ResponseEntity.ok(events.stream(caller, job));
    }

    @Operation(operationId = "getJobVideo", summary = "The job's video, from falgate's own archive", description = """
            The copy falgate made when the job completed (fal deletes its CDN files): Content-Type, ETag (the
            SHA-256), Accept-Ranges; a Range request is answered 206 (a <video> element seeks with them), an
            unsatisfiable one 416, If-None-Match with the ETag 304. 404 while no copy is stored. Also served without
            a key to the job's signed_url (result.video.archive.signed_url), for a <video src>; a wrong or expired
            signature is 403.""")
    @ApiResponse(responseCode = "200", description = "The whole video", content = @Content(mediaType = "video/mp4",
            schema = @Schema(type = "string", format = "binary")))
    @ApiResponse(responseCode = "206", description = "The requested range", content = @Content(mediaType = "video/mp4",
            schema = @Schema(type = "string", format = "binary")))
    @ApiResponse(responseCode = "304", description = "Unchanged: the If-None-Match ETag is the stored copy's")
    @ApiResponse(responseCode = "404", description = "No such job, or no archived copy of its video (yet) (not_found)")
    @ApiResponse(responseCode = "416", description = "The Range lies outside the video")
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = "/{id}/video")
    ResponseEntity<Resource> video(@Parameter(hidden = true) Optional<Caller> caller, @PathVariable String id,
            HttpServletRequest request)
            throws IOException {
        Job job;
        if (caller.isPresent()) {
            job = jobs.find(caller.get(), id);
        } else if (SignedUrls.verified(request)) {
            job = jobs.findSigned(id); // ApiKeyFilter checked the signature over this very path
        } else {
            throw new ApiException(HttpStatus.UNAUTHORIZED, "unauthorized", "A valid API key or signed URL is required.");
        }
        Archive.StoredVideo video = archive.storedVideo(job.id()).orElseThrow(() -> ApiException.notFound(
                "Job " + id + " has no archived copy of its video (yet)."));
        // Spring answers Range (206, 416) and If-None-Match (304) itself for a Resource body with an ETag
        return ResponseEntity.ok().eTag(video.sha256()).header(HttpHeaders.ACCEPT_RANGES, "bytes")
                .contentType(MediaType.parseMediaType(video.contentType())).lastModified(video.storedAt())
                .body(video.resource());
    }

    @Operation(operationId = "getJobCallbacks", summary = "The job's callback: its event and every delivery attempt",
            description = """
            The terminal event (null until the job ends, or when it has no callback_url) with where its delivery
            stands, and every attempt: time, the receiver's status or the error, duration, next attempt.""")
    @ApiResponse(responseCode = "200", description = "The delivery log")
    @ApiResponse(responseCode = "404", description = NOT_FOUND)
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = "/{id}/callbacks", produces = MediaType.APPLICATION_JSON_VALUE)
    Callbacks.DeliveryLog callbacks(Caller caller, @PathVariable String id) {
        return callbacks.deliveriesOf(jobs.find(caller, id).id());
    }

    @Operation(operationId = "redeliverJobCallback", summary = "Send the job's terminal event again",
            description = """
            The same event (same webhook-id, same body), signed afresh and retried as a new delivery whatever became
            of the last one. jobs:create for the client's own jobs, admin for any.""")
    @ApiResponse(responseCode = "202", description = "The event, due now")
    @ApiResponse(responseCode = "404", description = NOT_FOUND)
    @ApiResponse(responseCode = "409", description = "The job has no callback_url, or has not ended yet (conflict)")
    @RequiresScope(Scope.JOBS_CREATE)
    @PostMapping(path = "/{id}/callbacks/redeliver", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Callbacks.EventView> redeliver(Caller caller, @PathVariable String id) {
        Job job = jobs.findOwned(caller, id);
        if (job.callbackUrl() == null) {
            throw new ApiException(HttpStatus.CONFLICT, "conflict", "Job " + id + " has no callback_url.");
        }
        Callbacks.EventView event = callbacks.redeliver(job.id()).orElseThrow(() -> new ApiException(
                HttpStatus.CONFLICT, "conflict", "Job " + id + " has not ended yet; its event is sent when it ends."));
        return ResponseEntity.accepted().body(event);
    }

    @Operation(operationId = "getJob", summary = "A job",
            description = "jobs:read reads its own client's jobs, ops:read every job.")
    @ApiResponse(responseCode = "200", description = "The job")
    @ApiResponse(responseCode = "404", description = NOT_FOUND)
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = "/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    JobResource get(Caller caller, @PathVariable String id) {
        return resources.of(jobs.find(caller, id));
    }
}
