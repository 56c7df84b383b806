package dev.falgate.facade;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Semaphore;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import org.springframework.web.servlet.support.ServletUriComponentsBuilder;

import dev.falgate.access.Caller;
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;
import dev.falgate.job.JobOperations;
import dev.falgate.job.JobResource;
import dev.falgate.web.ApiException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * fal's queue protocol for {@code fal-ai/ltx-video-v097/extend}, served by falgate itself from its own job rows
 * (api.md, "fal-compatible facade"): code written for fal's clients works unchanged, and every request is a tracked,
 * budgeted job of the caller's client. The {@code request_id} is the job's id; nothing here is passed on from fal.
 */
@RestController
@Tag(name = "fal-compatible queue", description = "fal's queue protocol, answered from falgate's jobs; "
        + "Authorization: Key <falgate key> or Bearer")
class FalQueueController {

    private static final String REQUESTS = "/" + FalAnswers.APP + "/requests/{id}";

    private final JobOperations jobs;
    private final FalAnswers answers;
    private final JsonMapper json;
    private final URI publicUrl;
    private final Duration runTimeout;
    /** Synchronous runs hold a request thread until their job ends: only so many at once, and 4 per client. */
    private final Semaphore runs = new Semaphore(16);
    private final java.util.Map<String, Semaphore> runsByClient = new java.util.concurrent.ConcurrentHashMap<>();

    FalQueueController(JobOperations jobs, FalAnswers answers, JsonMapper json,
            @Value("${falgate.fal.public-url:}") String publicUrl,
            @Value("${falgate.facade.run-timeout:5m}") Duration runTimeout) {
        this.jobs = jobs;
        this.answers = answers;
        this.json = json;
        this.publicUrl = publicUrl == null || publicUrl.isBlank() ? null : URI.create(publicUrl);
        this.runTimeout = runTimeout;
    }

    @Operation(operationId = "falSubmit", summary = "fal's queue submit: the body is fal's input at top level")
    @RequiresScope(Scope.JOBS_CREATE)
    @PostMapping(path = "/" + FalAnswers.ENDPOINT, produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<String> submit(Caller caller, @RequestBody JsonNode input,
            @RequestParam(name = "fal_webhook", required = false) String falWebhook,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey) {
        try {
            return answers.submitted(base(), accept(caller, input, falWebhook, idempotencyKey));
        } catch (ApiException e) {
            if (e.status() == HttpStatus.BAD_REQUEST && !e.errors().isEmpty()) {
                return answers.invalid(e);
            }
            throw e;
        }
    }

    /** The job for fal's input; {@code fal_webhook}, if given, is its callback in fal's webhook format. */
    private JobResource accept(Caller caller, JsonNode input, String falWebhook, String idempotencyKey) {
        ObjectNode body = json.createObjectNode();
        body.set("input", input);
        if (falWebhook != null) {
            body.put("callback_url", falWebhook);
        }
        return jobs.submit(caller, body, idempotencyKey, falWebhook != null).job();
    }

    @Operation(operationId = "falStatus", summary = "fal's queue status")
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = REQUESTS + "/status", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<String> status(Caller caller, @PathVariable String id,
            @Parameter(description = "1 to include logs") @RequestParam(name = "logs", required = false) String logs) {
        JobResource job = find(caller, id);
        return job == null ? answers.notFound() : answers.statusAnswer(base(), job, "1".equals(logs));
    }

    @Operation(operationId = "falStatusStream", summary = "fal's queue status as Server-Sent Events, closed after COMPLETED")
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = REQUESTS + "/status/stream", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    ResponseEntity<?> statusStream(Caller caller, @PathVariable String id,
            @RequestParam(name = "logs", required = false) String logs) {
        if (find(caller, id) == null) {
            return answers.notFound();
        }
        URI base = base();
        boolean withLogs = "1".equals(logs);
        SseEmitter stream = jobs.stream(caller, id,
                job -> json.writeValueAsString(answers.status(base, job, withLogs)));
        return ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM).body(stream);
    }

    @Operation(operationId = "falResult", summary = "fal's queue result")
    @RequiresScope({Scope.JOBS_READ, Scope.OPS_READ})
    @GetMapping(path = REQUESTS, produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<String> result(Caller caller, @PathVariable String id) {
        JobResource job = find(caller, id);
        return job == null ? answers.notFound() : answers.result(base(), job);
    }

    @Operation(operationId = "falCancel", summary = "fal's queue cancel")
    @RequiresScope(Scope.JOBS_CREATE)
    @PutMapping(path = REQUESTS + "/cancel", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<String> cancel(Caller caller, @PathVariable String id) {
        try {
            return answers.cancelled(jobs.cancel(caller, id));
        } catch (ApiException e) {
            if (e.status() == HttpStatus.CONFLICT) {
                return answers.alreadyCompleted();
            }
            if (e.status() == HttpStatus.NOT_FOUND) {
                return answers.notFound();
            }
            throw e;
        }
    }

    /**
     * fal's synchronous {@code fal.run}: submits, then answers with the result when the job ends, waiting at most
     * {@code FALGATE_FACADE_RUN_TIMEOUT}; then 504 naming the job ({@code x-falgate-job-id}), which goes on and can be
     * followed through the queue routes, so nothing paid for is lost.
     */
    ResponseEntity<String> run(Caller caller, JsonNode input, String idempotencyKey) throws InterruptedException {
        Semaphore clientRuns = runsByClient.computeIfAbsent(caller.client(), client -> new Semaphore(4));
        if (!clientRuns.tryAcquire()) {
            throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limited",
                    "This client already waits on 4 synchronous runs; use the queue (fal.subscribe) instead.");
        }
        if (!runs.tryAcquire()) {
            clientRuns.release();
            throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limited",
                    "Too many synchronous runs wait at once; use the queue (fal.subscribe) instead.");
        }
        try {
            JobResource job;
            try {
                job = accept(caller, input, null, idempotencyKey);
            } catch (ApiException e) {
                if (e.status() == HttpStatus.BAD_REQUEST && !e.errors().isEmpty()) {
                    return answers.invalid(e);
                }
                throw e;
            }
            long deadline = System.nanoTime() + runTimeout.toNanos();
            while (!job.status().isTerminal()) {
                if (System.nanoTime() >= deadline) {
                    // "user": fal's clients retry a 504 otherwise, and every retry would be another paid job
                    return ResponseEntity.status(HttpStatus.GATEWAY_TIMEOUT).contentType(MediaType.APPLICATION_JSON)
                            .header("x-fal-request-timeout-type", "user")
                            .header("x-falgate-job-id", job.id().toString())
                            .header(FalAnswers.REQUEST_ID_HEADER, job.id().toString())
                            .body(json.writeValueAsString(json.createObjectNode().put("detail", "The request did not "
                                    + "finish within " + runTimeout.toSeconds() + " s; it goes on as request "
                                    + job.id() + " (queue status and result routes)")));
                }
                Thread.sleep(250);
                job = jobs.read(caller, job.id().toString());
            }
            return answers.result(base(), job);
        } finally {
            runs.release();
            clientRuns.release();
        }
    }

    private JobResource find(Caller caller, String id) {
        try {
            return jobs.read(caller, id);
        } catch (ApiException e) {
            if (e.status() == HttpStatus.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    /** falgate as fal's clients reach it: FALGATE_PUBLIC_URL, else the request's own scheme and host. */
    private URI base() {
        return publicUrl != null ? publicUrl : ServletUriComponentsBuilder.fromCurrentContextPath().build().toUri();
    }
}
