package dev.falgate.job;

import java.util.function.Function;

import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import dev.falgate.access.Caller;
import dev.falgate.callback.Callbacks;
import tools.jackson.databind.JsonNode;

/**
 * What other packages may do with jobs on a caller's behalf (fal's protocol in {@code facade}), with the same
 * validation, idempotency, budgets, scopes and client isolation as {@code /v1/jobs}: the job as callers see it.
 */
@Component
public class JobOperations {

    private final JobService jobs;
    private final JobResources resources;
    private final JobEvents events;

    JobOperations(JobService jobs, JobResources resources, JobEvents events) {
        this.jobs = jobs;
        this.resources = resources;
        this.events = events;
    }

    /** A submitted job as callers see it, and whether it is an earlier one replayed for the same Idempotency-Key. */
    public record Submitted(JobResource job, boolean replayed) {
    }

    /**
     * Submits {@code body} ({@code {"input": …, "metadata": …, "callback_url": …}}) as {@code POST /v1/jobs} does;
     * with {@code falWebhookFormat} its callback is delivered as fal's webhook (the facade's {@code fal_webhook}).
     * fal's clients retry a submit on their own: without an Idempotency-Key, the same body within 10 s is that
     * retry and answers with the same job.
     */
    public Submitted submit(Caller caller, JsonNode body, String idempotencyKey, boolean falWebhookFormat) {
        JobService.Submission submission = jobs.accept(caller, body, idempotencyKey,
                falWebhookFormat ? Callbacks.FAL_FORMAT : Callbacks.STANDARD_FORMAT, true);
        return new Submitted(resources.of(submission.job()), submission.replayed());
    }

    /** The job if the caller may read it, else 404. */
    public JobResource read(Caller caller, String id) {
        return resources.of(jobs.find(caller, id));
    }

    /** Cancels the caller's own job (an admin's: any), as {@code POST /v1/jobs/{id}/cancel} does. */
    public JobResource cancel(Caller caller, String id) {
        return resources.of(jobs.cancel(caller, id));
    }

    /** Follows the job as Server-Sent Events, each unnamed event's data made from the job by {@code data}. */
    public SseEmitter stream(Caller caller, String id, Function<JobResource, String> data) {
        return events.stream(caller, jobs.find(caller, id), new JobEvents.Format(null, data));
    }
}
