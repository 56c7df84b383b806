package dev.falgate.job;

import java.net.URI;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.access.Caller;
import tools.jackson.databind.JsonNode;

@RestController
@RequestMapping("/v1/jobs")
class JobController {

    private final JobService jobs;

    JobController(JobService jobs) {
        this.jobs = jobs;
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

    @GetMapping(path = "/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    JobResource get(Caller caller, @PathVariable String id) {
        return JobResource.of(jobs.find(caller, id));
    }
}
