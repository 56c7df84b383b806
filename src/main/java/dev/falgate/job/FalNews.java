package dev.falgate.job;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Semaphore;

import org.springframework.stereotype.Component;

import dev.falgate.fal.FalClient;
import dev.falgate.fal.FalRequest;
import dev.falgate.fal.StatusOutcome;
import dev.falgate.ledger.FalRequestEntry;
import dev.falgate.ledger.FalRequestLedger;

/**
 * fal's news of a job from its webhook, the one entry for it: is the request ours (created, known, or confirmed
 * by a status call with our key), and if so the job is worked on at once in the delivery's own request.
 */
@Component
class FalNews {

    private final JobWriter writer;
    private final JobProcessor processor;
    private final JobWorker worker;
    private final JobRepository jobs;
    private final FalRequestLedger ledger;
    private final FalClient fal;
    private final WorkerSettings settings;
    private final Semaphore immediateRounds;
    private final JobClaims claims;

    FalNews(JobWriter writer, JobProcessor processor, JobWorker worker, JobRepository jobs, FalRequestLedger ledger,
            FalClient fal, WorkerSettings settings, JobClaims claims) {
        this.claims = claims;
        this.writer = writer;
        this.processor = processor;
        this.worker = worker;
        this.jobs = jobs;
        this.ledger = ledger;
        this.fal = fal;
        this.settings = settings;
        this.immediateRounds = new Semaphore(settings.concurrency());
    }

    /**
     * fal's webhook names a request it holds for the job (see {@link JobWriter#learnFromWebhook}). When that
     * gives the job something to do, the job is worked on at once, in the calling thread, claimed as the worker
     * claims ({@link JobClaims#claim}): the caller need not wait for the worker's next turn (or its backlog).
     * At most {@code concurrency} such rounds run at once: a burst of webhooks must not take every request
     * thread and database connection from callers; beyond that the job waits, due, for the worker, which is
     * woken.
     *
     * A request falgate did not create itself is first confirmed with our key (see
     * {@link #ownershipOf}); another account's request changes nothing and is never asked about again.
     *
     * @param succeeded fal reported (signed) that the request completed successfully
     * @return what became of the news
     */
    Verdict take(UUID jobId, String requestId, boolean succeeded) {
        FalRequest request = new FalRequest(requestId, null, null, null);
        Ownership ownership = ownershipOf(jobId, requestId);
        if (ownership == Ownership.NO_SUCH_JOB) {
            return Verdict.UNKNOWN_JOB;
        }
        if (ownership == Ownership.NOT_OURS) {
            return Verdict.NOT_OURS;
        }
        if (ownership == Ownership.UNCONFIRMED) {
            return Verdict.UNCONFIRMED;
        }
        if (!writer.learnFromWebhook(jobId, request)) {
            return Verdict.UNKNOWN_JOB;
        }
        boolean ownRound = immediateRounds.tryAcquire();
        try {
            Instant now = writer.now();
            Optional<JobClaims.Claim> claim = ownRound
                    ? claims.claim(jobId, worker.owner(), now, now.plus(settings.lease())) : Optional.empty();
            if (claim.isPresent()) {
                processor.process(claim.get(), succeeded ? request.requestId() : null);
            } else {
                worker.wake();
            }
            return ownership == Ownership.CREATED ? Verdict.TAKEN_FOR_OWN_REQUEST : Verdict.TAKEN;
        } finally {
            if (ownRound) {
                immediateRounds.release();
            }
        }
    }

    /** What became of a webhook's news. */
    enum Verdict {
        /** Taken, for a request falgate created itself: the delivery also shows which fal account is ours. */
        TAKEN_FOR_OWN_REQUEST,
        /** Taken (a request learned before, or one fal confirmed to our key). */
        TAKEN,
        /** No such job: answered all the same, so fal stops delivering. */
        UNKNOWN_JOB,
        /** Another fal account's request: nothing changed. */
        NOT_OURS,
        /** fal could not confirm the request to our key yet: fal should deliver again. */
        UNCONFIRMED
    }

    /** Whose a request named by fal's webhook is, as far as falgate can tell. */
    enum Ownership {
        /** falgate created it itself (its submit's answer named it). */
        CREATED,
        /** falgate knows it already, learned from an earlier webhook or the request listing. */
        KNOWN,
        /** Unknown here, but a status call with our key answers for it: our account holds it. */
        CONFIRMED,
        /** Our key's status call answers 404: another account's request. Never booked, never asked about again. */
        NOT_OURS,
        /** Unknown here, and fal could not answer the status call: cannot be adopted yet. */
        UNCONFIRMED,
        /** Unknown here, for a job that does not exist: nothing to adopt it for, and fal is not asked. */
        NO_SUCH_JOB
    }

    /**
     * Whether the request a webhook names is ours. fal signs every account's deliveries with the same keys, so a
     * valid signature does not say whose request it is: one we did not create is adopted only once fal answers a
     * status call for it with our key.
     */
    Ownership ownershipOf(UUID jobId, String requestId) {
        FalRequestEntry known = ledger.findById(requestId).orElse(null);
        if (known != null) {
            return known.learnedVia().equals("submit") ? Ownership.CREATED : Ownership.KNOWN;
        }
        if (jobs.findById(jobId).map(job -> job.isSandbox()).orElse(true)) {
            // no such job, or a sandbox job, which fal never holds: never asked about at fal
            return Ownership.NO_SUCH_JOB;
        }
        StatusOutcome status = fal.status(new FalRequest(requestId, null, null, null));
        if (status instanceof StatusOutcome.NotFound) {
            return Ownership.NOT_OURS;
        }
        return status instanceof StatusOutcome.Unavailable ? Ownership.UNCONFIRMED : Ownership.CONFIRMED;
    }

}
