package dev.falgate.job;

import java.io.IOException;
import java.net.URI;
import java.util.Map;

import jakarta.servlet.http.HttpServletResponse;

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
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;
import dev.falgate.access.StreamSlots;
import io.swagger.v3.oas.annotations.Operation;
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

    private final JobService jobs;
    private final JobHistory history;
    private final JobEvents events;
    private final StreamSlots streamSlots;

    JobController(JobService jobs, JobHistory history, JobEvents events, StreamSlots streamSlots) {
        this.jobs = jobs;
        this.history = history;
        this.events = events;
        this.streamSlots = streamSlots;
    }

    /** The body is taken as a JSON tree so the validator sees exact types and every field, unknown ones too. */
    @Operation(summary = "Submit an extend request (scope jobs:create)", description = """
            Body: {"input": <fal's input for fal-ai/ltx-video-v097/extend>, "metadata": <object, at most 4 KiB>}.
            Answers 202 with the job (its effective input has fal's defaults filled in) and Location. Unknown
            fields, wrong JSON types and out-of-range values: 400 naming every field; over 64 KiB: 413; not JSON:
            415. Idempotency-Key: the same key and body again answer 200 with Idempotent-Replayed: true, another
            body 422. Over the client's budget: 402; over the key's rate limit: 429 with Retry-After.""",
            responses = {
                    @ApiResponse(responseCode = "202", description = "The new job, queued",
                            content = @Content(schema = @Schema(implementation = JobResource.class))),
                    @ApiResponse(responseCode = "200", description = "The job made earlier with this Idempotency-Key "
                            + "and body (Idempotent-Replayed: true)",
                            content = @Content(schema = @Schema(implementation = JobResource.class)))},
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(content = @Content(
                    examples = @ExampleObject("""
                            {"input": {"prompt": "Woman walking on a street in Tokyo", "resolution": "720p",
                                       "video": {"video_url": "https://example.com/in.mp4", "start_frame_num": 24}},
                             "metadata": {"order_id": "A-1001"}}"""))))
    @RequiresScope(Scope.JOBS_CREATE)
    @PostMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobResource> submit(Caller caller, @RequestBody JsonNode body,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey) {
        JobService.Submission submission = jobs.accept(caller, body, idempotencyKey);
        Job job = submission.job();
        ResponseEntity.BodyBuilder answer = submission.replayed()
                ? ResponseEntity.ok().header("Idempotent-Replayed", "true")
                : ResponseEntity.accepted();
        return answer.location(URI.create("/v1/jobs/" + job.id())).body(JobResource.of(job));
    }

    @Operation(summary = "Cancel a job (scope jobs:create, own jobs): 202, or 409 when it already ended",
            responses = @ApiResponse(responseCode = "202", description = "Cancelled, or fal asked to cancel",
                    content = @Content(schema = @Schema(implementation = JobResource.class))))
    @RequiresScope(Scope.JOBS_CREATE)
    @PostMapping(path = "/{id}/cancel", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobResource> cancel(Caller caller, @PathVariable String id) {
        return ResponseEntity.accepted().body(JobResource.of(jobs.cancel(caller, id)));
    }

    @Operation(summary = "Job history, newest first (ops:read: every client; jobs:read: own)", description = """
            Query: status, client, created_from, created_to (RFC 3339), limit (1..200, default 50), cursor (from
            next_cursor). With Accept: text/csv the matching jobs stream as CSV.""")
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    JobHistory.Page history(Caller caller, @RequestParam Map<String, String> query) {
        JobHistory.Filter filter = jobs.historyFilter(caller, query);
        return history.page(filter, filter.limit() == null ? JobService.DEFAULT_PAGE : filter.limit());
    }

    /**
     * The same rows as CSV for spreadsheets: every matching job (or {@code limit} of them). Written on the request's
     * own thread, so no async timeout can cut a download that is making progress; a client that stops reading is
     * dropped by the connection's write timeout. Holds one of the key's stream slots while it runs.
     */
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(produces = "text/csv")
    void historyCsv(Caller caller, @RequestParam Map<String, String> query, HttpServletResponse response)
            throws IOException {
        JobHistory.Filter filter = jobs.historyFilter(caller, query);
        try (StreamSlots.Slot slot = streamSlots.open(caller)) {
            response.setContentType("text/csv;charset=UTF-8");
            response.setHeader("Content-Disposition", "attachment; filename=\"falgate-jobs.csv\"");
            history.writeCsv(filter, response.getOutputStream());
        }
    }

    @Operation(summary = "Server-Sent Events: a 'status' event with the job at connect and at every change, "
            + "ending after the terminal one (same scopes as reading the job)")
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = "/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    SseEmitter events(Caller caller, @PathVariable String id) {
        return events.stream(caller, jobs.find(caller, id));
    }

    @Operation(summary = "A job (jobs:read: own; ops:read: any); another client's or an unknown id: 404")
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = "/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    JobResource get(Caller caller, @PathVariable String id) {
        return JobResource.of(jobs.find(caller, id));
    }
}
