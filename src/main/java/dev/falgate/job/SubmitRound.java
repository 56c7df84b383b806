package dev.falgate.job;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import dev.falgate.fal.FalRequest;
import dev.falgate.fal.SubmitOutcome;

/**
 * A round for a {@code queued} job: send it to fal once, and decide from fal's answer (see docs/fal-outcomes.md).
 * A submit whose answer was lost is searched for in fal's request listing, never re-sent blindly; a cancel
 * that arrived meanwhile wins over any later submit.
 */
@Component
class SubmitRound {

    private static final Logger log = LoggerFactory.getLogger(SubmitRound.class);

    private final JobWriter writer;
    private final LostSubmitSearch lostSubmits;
    private final JobMetrics metrics;
    private final WorkerSettings settings;

    SubmitRound(JobWriter writer, LostSubmitSearch lostSubmits, JobMetrics metrics,
            WorkerSettings settings) {
        this.writer = writer;
        this.lostSubmits = lostSubmits;
        this.metrics = metrics;
        this.settings = settings;
    }

    void run(Job job, Round round) {
        Instant now = writer.now();
        if (!round.submitBegun && job.hasUnknownSubmit()) {
            if (!resolveUnknownSubmit(job, round, now)) {
                return;
            }
        } else if (!round.submitBegun && job.isCancelRequested()) {
            // a cancel arrived while a submit was out, and that submit created nothing: nothing at fal to stop
            writer.write(round, "cancel", j -> j.markCancelled(writer.bookedCost(round), now));
            return;
        }
        if (!round.submitBegun && !writer.keepingLease(round, "begin submit", j -> j.beginSubmit(now))) {
            return;
        }
        SubmitOutcome outcome = round.fal.submit(job.input(), job.id());
        Instant answered = writer.now();
        if (outcome instanceof SubmitOutcome.Accepted accepted) {
            round.released = writer.learnOfRequest(job.id(), accepted.request(), accepted.queuePosition(), round.claim);
        } else if (outcome instanceof SubmitOutcome.Rejected rejected) {
            writer.write(round, "fail a rejected submit", j -> j.markFailed(
                    writer.error("fal_rejected", "fal rejected the request (HTTP " + rejected.httpStatus() + ")",
                            rejected.httpStatus(), rejected.detail(), rejected.errorType()),
                    null, writer.bookedCost(round), answered));
        } else if (outcome instanceof SubmitOutcome.Retryable retry && retry.operatorProblem()) {
            refused(job, round, retry, answered);
        } else if (outcome instanceof SubmitOutcome.Retryable retry) {
            Duration delay = backoff(job.attempts() + 1, retry.retryAfter());
            log.warn("Job {}: submit not accepted, {}; retrying in {}", job.id(), retry.reason(), delay);
            writer.write(round, "schedule a submit retry", cancelledOr(round, answered,
                    j -> j.retrySubmitAt(answered.plus(delay), answered)));
        } else if (outcome instanceof SubmitOutcome.Unknown unknown) {
            log.warn("Job {}: submit outcome unknown ({}); fal may hold it: searching fal's request listing, "
                    + "never re-sending blindly", job.id(), unknown.reason());
            writer.write(round, "await an unknown submit",
                    j -> j.awaitUnknownSubmitUntil(answered.plus(settings.lostSubmitSearchInterval()), answered));
        }
    }

    /**
     * The change to make after a submit that created nothing, unless a cancel arrived while it was out: then the
     * job is cancelled now, as its caller was told, and no later round submits it.
     */
    private Consumer<Job> cancelledOr(Round round, Instant now, Consumer<Job> change) {
        return j -> {
            if (j.isCancelRequested()) {
                j.markCancelled(writer.bookedCost(round), now);
            } else {
                change.accept(j);
            }
        };
    }

    /**
     * A submit's answer was lost (or its worker died mid-submit): fal may hold a request we know nothing of. Search
     * fal's request listing for it and adopt it; only once the listing answered without it after the grace may the
     * job be sent again. While the listing cannot answer, the job waits (visibly: metric and health), never
     * re-posting blindly; its deadline ends it at the latest. Returns whether the round should submit now.
     */
    private boolean resolveUnknownSubmit(Job job, Round round, Instant now) {
        Instant graceEnds = job.submitStartedAt().plus(settings.unknownSubmitGrace());
        LostSubmitSearch.Finding finding = lostSubmits.search(round.fal, job.input(), job.submitStartedAt(), now);
        metrics.lostSubmitSearched(finding);
        if (finding instanceof LostSubmitSearch.Found found) {
            log.warn("Job {}: fal's request listing holds request {} with the job's input; adopting it", job.id(),
                    found.requestId());
            round.released = writer.learnOfRequest(job.id(), new FalRequest(found.requestId(), null, null, null), null,
                    round.claim, "listing");
            return false;
        }
        Instant next = now.plus(settings.lostSubmitSearchInterval());
        if (finding instanceof LostSubmitSearch.Unavailable unavailable) {
            log.warn("Job {}: fal's request listing could not answer ({}); the job waits, it is not sent again",
                    job.id(), unavailable.reason());
            writer.write(round, "await the request listing", j -> j.awaitUnknownSubmitUntil(next, now));
            return false;
        }
        if (now.isBefore(graceEnds)) {
            // fal may list a new request late: look again until the grace is over
            writer.write(round, "await an unknown submit",
                    j -> j.awaitUnknownSubmitUntil(next.isBefore(graceEnds) ? next : graceEnds, now));
            return false;
        }
        if (job.isCancelRequested()) {
            writer.write(round, "cancel", j -> j.markCancelled(writer.bookedCost(round), now));
            return false;
        }
        log.warn("Job {}: fal's request listing holds no request for the submit sent at {} after {}; submitting again",
                job.id(), job.submitStartedAt(), settings.unknownSubmitGrace());
        return true;
    }

    /** fal refuses our key or account: the job waits (uncharged) for an operator, up to the maximum wait. */
    private void refused(Job job, Round round, SubmitOutcome.Retryable retry, Instant now) {
        Instant since = job.refusedSince() != null ? job.refusedSince() : now;
        if (!now.isBefore(since.plus(settings.refusedMaxWait()))) {
            writer.write(round, "give up on a refused job", cancelledOr(round, now, j -> j.markFailed(writer.error("fal_unavailable",
                    "fal refused our key or account for " + settings.refusedMaxWait() + "; the job was never run",
                    retry.httpStatus(), null, null), null, writer.bookedCost(round), now)));
            return;
        }
        log.warn("Job {}: {}; retrying in {}", job.id(), retry.reason(), settings.refusedRetry());
        writer.write(round, "wait for fal to accept us",
                cancelledOr(round, now, j -> j.refusedByFal(now.plus(settings.refusedRetry()), now)));
    }

    /** Exponential backoff with jitter, never shorter than fal's Retry-After, never longer than the cap. */
    private Duration backoff(int attempt, Duration retryAfter) {
        long base = settings.retryBase().toMillis();
        long exponential = base << Math.min(attempt - 1, 20);
        long capped = Math.min(exponential, settings.retryCap().toMillis());
        long jittered = capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1);
        long wanted = retryAfter == null ? jittered : Math.max(jittered, retryAfter.toMillis());
        return Duration.ofMillis(Math.min(wanted, settings.retryCap().toMillis()));
    }

}
