package dev.falgate.job;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Map;

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
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import dev.falgate.access.Caller;
import tools.jackson.databind.JsonNode;

@RestController
@RequestMapping("/v1/jobs")
class JobController {

    private final JobService jobs;
    private final JobHistory history;

    JobController(JobService jobs, JobHistory history) {
        this.jobs = jobs;
        this.history = history;
    }

    /** The body is taken as a JSON tree so the validator sees exact types and every field, unknown ones too. */
    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE, produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobResource> submit(Caller caller, @RequestBody JsonNode body,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey) {
        JobService.Submission submission = jobs.accept(caller, body, idempotencyKey);
        Job job = submission.job();
        ResponseEntity.BodyBuilder answer = submission.replayed()
                ? ResponseEntity.ok().header("Idempotent-Replayed", "true")
                : ResponseEntity.accepted();
        return answer.location(URI.create("/v1/jobs/" + job.id())).body(JobResource.of(job));
    }

    @PostMapping(path = "/{id}/cancel", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobResource> cancel(Caller caller, @PathVariable String id) {
        return ResponseEntity.accepted().body(JobResource.of(jobs.cancel(caller, id)));
    }

    @GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    JobHistory.Page history(Caller caller, @RequestParam Map<String, String> query) {
        JobHistory.Filter filter = jobs.historyFilter(caller, query);
        Integer limit = JobService.limitParameter(query, new ArrayList<>());
        return history.page(filter, limit == null ? JobService.DEFAULT_PAGE : limit);
    }

    /** The same rows as CSV for spreadsheets: every matching job (or {@code limit} of them), streamed. */
    @GetMapping(produces = "text/csv")
    ResponseEntity<StreamingResponseBody> historyCsv(Caller caller, @RequestParam Map<String, String> query) {
        JobHistory.Filter filter = jobs.historyFilter(caller, query);
        Integer limit = JobService.limitParameter(query, new ArrayList<>());
        return ResponseEntity.ok().contentType(new MediaType("text", "csv", StandardCharsets.UTF_8))
                .header("Content-Disposition", "attachment; filename=\"falgate-jobs.csv\"")
                .body(out -> history.writeCsv(filter, limit, out));
    }

    @GetMapping(path = "/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    JobResource get(Caller caller, @PathVariable String id) {
        return JobResource.of(jobs.find(caller, id));
    }
}
