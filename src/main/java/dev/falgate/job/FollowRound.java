package dev.falgate.job;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.NonTransientDataAccessException;
import org.springframework.stereotype.Component;

import dev.falgate.fal.CancelOutcome;
import dev.falgate.fal.FalClient;
import dev.falgate.fal.FalRequest;
import dev.falgate.fal.ResultOutcome;
import dev.falgate.fal.StatusOutcome;
import dev.falgate.ledger.FalRequestEntry;
import dev.falgate.ledger.FalRequestLedger;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A round for a job fal holds: ask its status (or take a signed webhook's word for it), fetch the result once
 * fal says {@code COMPLETED}, and end the job as fal's answer says; or end it at its deadline.
 */
@Component
class FollowRound {

    private static final Logger log = LoggerFactory.getLogger(FollowRound.class);

    private final JobWriter writer;
    private final FalRequestLedger ledger;
    private final WorkerSettings settings;
    private final JsonMapper json;

    FollowRound(JobWriter writer, FalRequestLedger ledger, WorkerSettings settings, JsonMapper json) {
        this.writer = writer;
        this.ledger = ledger;
        this.settings = settings;
        this.json = json;
    }

    void run(Job job, Round round, String succeededRequestId) {
        FalRequest request = job.falRequest();
        boolean reportedDone = request.requestId().equals(succeededRequestId);
        if (job.isCancelRequested() && !reportedDone) {
            askFalToCancel(round, request);
        }
        StatusOutcome status = reportedDone ? new StatusOutcome.Completed(null, null, null) : round.fal.status(request);
        Instant now = writer.now();
        Instant nextPoll = now.plus(pollDelay(round.fal, job, now));
        if (status instanceof StatusOutcome.InQueue queued) {
            writer.write(round, "note queue position", j -> j.markInQueue(queued.queuePosition(), now, nextPoll));
        } else if (status instanceof StatusOutcome.InProgress) {
            writer.write(round, "mark in progress", j -> j.markInProgress(now, nextPoll));
        } else if (status instanceof StatusOutcome.Completed completed) {
            finish(job, round, request, completed, nextPoll);
        } else if (status instanceof StatusOutcome.NotFound && job.submittedAt() != null
                && !now.isBefore(job.submittedAt().plus(settings.lostRequestAfter()))) {
            log.error("Job {}: fal no longer knows request {}; failing the job uncharged", job.id(), request.requestId());
            writer.write(round, "fail a request fal lost", j -> {
                writer.settle(round, j, request.requestId(), "failed", null, now);
                j.markFailed(writer.error("fal_request_lost", "fal answers 404 for the job's request " + request.requestId()
                        + " since at least " + settings.lostRequestAfter(), 404, null, null), null, writer.bookedCost(round), now);
            });
        } else if (status instanceof StatusOutcome.NotFound) {
            log.warn("Job {}: fal answered 404 for request {}; asking again", job.id(), request.requestId());
            writer.write(round, "poll again", j -> j.pollAgainAt(nextPoll, now));
        } else if (status instanceof StatusOutcome.Unavailable unavailable) {
            log.warn("Job {}: status of fal request {} unavailable ({}); polling again", job.id(),
                    request.requestId(), unavailable.reason());
            writer.write(round, "poll again", j -> j.pollAgainAt(nextPoll, now));
        }
    }

    void askFalToCancel(Round round, FalRequest request) {
        FalRequestEntry entry = ledger.findById(request.requestId()).orElse(null);
        if (entry == null || entry.cancelRequestedAt() != null) {
            return;
        }
        CancelOutcome answer = round.fal.cancel(request);
        log.info("Job {}: asked fal to cancel request {}: {}", round.claim.jobId(), request.requestId(), answer);
        if (answer != CancelOutcome.UNAVAILABLE) {
            Instant now = writer.now();
            writer.keepingLease(round, "note the cancel",
                    j -> ledger.findById(request.requestId()).orElseThrow().markCancelRequested(now));
        }
    }

    private void finish(Job job, Round round, FalRequest request, StatusOutcome.Completed completed,
            Instant retryAt) {
        ResultOutcome result = round.fal.result(request);
        Instant now = writer.now();
        String requestId = request.requestId();
        if (result instanceof ResultOutcome.Unavailable unavailable) {
            log.warn("Job {}: result of fal request {} unavailable ({}); fetching again", job.id(), requestId,
                    unavailable.reason());
            writer.write(round, "fetch the result again", j -> j.pollAgainAt(retryAt, now));
            return;
        }
        JsonNode video = result instanceof ResultOutcome.Output output ? output.body().path("video") : null;
        if (completed.succeeded() && video != null && video.path("url").isString()) {
            ResultOutcome.Output output = (ResultOutcome.Output) result;
            JsonNode seed = output.body().path("seed");
            try {
                writer.write(round, "complete", j -> {
                    writer.settle(round, j, requestId, "completed", output.billableUnits(), now);
                    j.markCompleted(json.writeValueAsString(output.body()), seed.canConvertToLong() ? seed.asLong() : null,
                            video.path("url").asString(), completed.inferenceTimeSeconds(), output.billableUnits(),
                            writer.bookedCost(round), now);
                });
            } catch (NonTransientDataAccessException e) {
                // A result the database refuses would be fetched and refused again forever: end the job clearly.
                // fal completed (and billed) the request, so it is booked as completed.
                log.error("Job {}: fal's result for request {} cannot be stored ({}); failing the job", job.id(),
                        requestId, e.getClass().getSimpleName());
                writer.write(round, "fail an unstorable result", j -> {
                    writer.settle(round, j, requestId, "completed", null, now);
                    j.markFailed(writer.error("result_unstorable", "fal completed the request but its result could not be "
                            + "stored (" + e.getClass().getSimpleName() + ")", null, null, null), null,
                            writer.bookedCost(round), now);
                });
            }
            return;
        }
        BigDecimal billable = billableUnitsOf(result);
        String errorJson = failure(completed, result);
        if (job.isCancelRequested()) {
            writer.write(round, "cancel", j -> {
                writer.settle(round, j, requestId, "cancelled", billable, now);
                j.markCancelled(writer.bookedCost(round), now);
            });
        } else {
            writer.write(round, "fail", j -> {
                writer.settle(round, j, requestId, "failed", billable, now);
                j.markFailed(errorJson, billable, writer.bookedCost(round), now);
            });
        }
    }

    private String failure(StatusOutcome.Completed completed, ResultOutcome result) {
        if (result instanceof ResultOutcome.ModelError error) {
            return writer.error(completed.errorType() != null ? completed.errorType() : "fal_failed",
                    completed.error() != null ? completed.error() : "fal reported an error for the request",
                    error.httpStatus(), error.detail(), error.errorType());
        }
        ResultOutcome.Output output = (ResultOutcome.Output) result;
        return writer.error("fal_failed", completed.succeeded() ? "fal's result has no video URL" : completed.error(),
                null, output.body(), completed.errorType());
    }

    /**
     * The job reached its deadline unfinished: it fails {@code deadline_exceeded}, charged what the ledger says fal
     * billed so far. A request fal still holds for it is asked to cancel and then settled like an extra request
     * (bounded), so a late bill is still booked.
     */
    void endAtDeadline(Job job, Round round) {
        FalRequest request = job.falRequest();
        if (request != null) {
            askFalToCancel(round, request);
        }
        Instant now = writer.now();
        log.error("Job {}: still {} at its deadline {}; failing it", job.id(), job.status().value(), job.deadlineAt());
        writer.write(round, "fail at the deadline", j -> j.markFailed(writer.error("deadline_exceeded",
                "The job did not finish within " + settings.jobMaxAge() + " of its acceptance (while "
                        + j.status().value() + ")", null, null, null), null, writer.bookedCost(round), now));
    }

    /** What fal billed for a request that answered (its output or its error). */
    static BigDecimal billableUnitsOf(ResultOutcome answered) {
        return answered instanceof ResultOutcome.Output output ? output.billableUnits()
                : ((ResultOutcome.ModelError) answered).billableUnits();
    }

    /**
     * Poll often at first, then at most ten times per order of magnitude of time at fal, up to the cap. With
     * fal's webhooks on, the webhook brings the news and polling is only the slow fallback.
     */
    private Duration pollDelay(FalClient fal, Job job, Instant now) {
        if (fal.webhooksEnabled()) {
            return settings.webhookPollInterval();
        }
        Instant since = job.submittedAt() != null ? job.submittedAt() : now;
        Duration stretched = Duration.between(since, now).dividedBy(10);
        Duration delay = stretched.compareTo(settings.pollInterval()) > 0 ? stretched : settings.pollInterval();
        return delay.compareTo(settings.pollIntervalCap()) < 0 ? delay : settings.pollIntervalCap();
    }

}
