package dev.falgate.job;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import dev.falgate.archive.Archive;
import dev.falgate.callback.Callbacks;
import dev.falgate.fal.FalClient;
import dev.falgate.fal.FalRequest;
import dev.falgate.ledger.SpendBook;
import dev.falgate.web.Usd;
import dev.falgate.ledger.FalRequestEntry;
import dev.falgate.ledger.FalRequestLedger;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The one writer of a job's row while it is tracked. Every write locks the row, checks the round's lease token,
 * applies one guarded transition of {@link Job}, counts it, books the spend when the job ends, and (on the
 * round's last write) gives the lease back, all in one transaction. A round that lost its lease writes nothing;
 * a transition the job's newer state refuses is skipped. The one exception to the lease check is news of a
 * request fal holds: it is always booked, because a request we forget is paid for and never delivered.
 */
@Component
class JobWriter {

    private static final Logger log = LoggerFactory.getLogger(JobWriter.class);

    private final JobRepository jobs;
    private final FalRequestLedger ledger;
    private final TransactionTemplate tx;
    private final WorkerSettings settings;
    private final JsonMapper json;
    private final JobMetrics metrics;
    private final SpendBook spendBook;
    private final Clock clock;
    private final boolean webhooksEnabled;
    private final Archive archive;
    private final Callbacks callbacks;
    private final JobResources resources;

    JobWriter(JobRepository jobs, FalRequestLedger ledger, TransactionTemplate tx, WorkerSettings settings,
            JsonMapper json, JobMetrics metrics, SpendBook spendBook, Clock clock, FalClient fal,
            Archive archive, Callbacks callbacks, JobResources resources) {
        this.callbacks = callbacks;
        this.resources = resources;
        this.archive = archive;
        this.jobs = jobs;
        this.ledger = ledger;
        this.tx = tx;
        this.settings = settings;
        this.json = json;
        this.metrics = metrics;
        this.spendBook = spendBook;
        this.clock = clock;
        this.webhooksEnabled = fal.webhooksEnabled();
    }

    /**
     * Reads the claimed job under its lock and, if the round is a plain submit, records in the same transaction
     * that the submit is about to leave (see {@link Job#beginSubmit}), so a submit costs one transaction less.
     */
    Job start(Round round) {
        return tx.execute(status -> {
            Job job = jobs.findForUpdate(round.claim.jobId()).orElse(null);
            if (job != null && job.isLeasedWith(round.claim.token()) && job.status() == JobStatus.QUEUED
                    && !job.hasUnknownSubmit() && !job.isCancelRequested() && !job.isPastDeadline(now())) {
                job.beginSubmit(now());
                round.submitBegun = true;
            }
            return job;
        });
    }

    /**
     * fal holds {@code request} for the job: book it, and make it the job's request unless the job already has
     * one. Written even if our lease lapsed meanwhile, because a request we forget is paid for and never
     * delivered. Repeated news changes nothing. Returns whether the submitting round's lease was given back.
     */
    boolean learnOfRequest(UUID jobId, FalRequest request, Integer position, JobClaims.Claim claim) {
        return learnOfRequest(jobId, request, position, claim, "submit");
    }

    boolean learnOfRequest(UUID jobId, FalRequest request, Integer position, JobClaims.Claim claim,
            String via) {
        Boolean released = tx.execute(status -> {
            Job job = jobs.findForUpdate(jobId).orElseThrow();
            boolean adopted = learn(job, request, position, via);
            // the submitting worker's round ends here: give its lease back in the same transaction
            if (adopted && job.isLeasedWith(claim.token())) {
                job.releaseLease();
                return true;
            }
            return false;
        });
        return Boolean.TRUE.equals(released);
    }

    /**
     * fal's (signed) webhook names a request it holds for the job: learn of it as of a submit's answer. When the news
     * gives the job something to do, the job is made due and taken from any round in flight (see
     * {@link #lookNow}). Returns whether the job exists.
     */
    boolean learnFromWebhook(UUID jobId, FalRequest request) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            Job job = jobs.findForUpdate(jobId).orElse(null);
            if (job == null) {
                return false;
            }
            learn(job, request, null, "webhook");
            return true;
        }));
    }

    /**
     * Books a request fal holds for the locked job, learned {@code via} "submit", "listing" or "webhook". Returns
     * whether the request became the job's own.
     */
    private boolean learn(Job job, FalRequest request, Integer position, String via) {
        UUID jobId = job.id();
        Instant now = now();
        boolean webhook = via.equals("webhook");
        FalRequestEntry known = ledger.findById(request.requestId()).orElse(null);
        if (known != null && !known.jobId().equals(jobId)) {
            // The webhook's path (the job id) is not signed: a delivery replayed to another job's URL changes nothing.
            log.warn("Job {}: fal request {} belongs to job {}; ignoring the report", jobId, request.requestId(),
                    known.jobId());
            return false;
        }
        if (known != null) {
            if (!job.status().isTerminal() || known.isActive()) {
                lookNow(job, webhook, now); // news about a request we know
            }
            return false;
        }
        ledger.save(FalRequestEntry.learned(request, jobId, via, now));
        if (job.status() == JobStatus.QUEUED) {
            // the sandbox's simulator sends no webhooks: its jobs are polled at the polling pace
            job.markSubmitted(request, position, now, now.plus(webhooksEnabled && !job.isSandbox()
                    ? settings.webhookPollInterval() : settings.pollInterval()));
            recordTransition(job, JobStatus.QUEUED, "fal request " + request.requestId() + ", learned via " + via
                    + ", attempt " + job.attempts());
            if (webhook || job.isCancelRequested()) {
                lookNow(job, webhook, now); // fal's webhook means the request has finished; a cancel is waiting
            }
            return true;
        }
        log.error("Job {}: a second fal request {} exists (the job's is {}); cancelling it, both are booked",
                jobId, request.requestId(), job.falRequestId());
        lookNow(job, webhook, now);
        return false;
    }

    /**
     * Makes the job due, as of its acceptance: the worker claims due jobs oldest first, so when it has a backlog
     * of submits, a job fal has finished (paid for, its video waiting) is fetched before jobs accepted after it
     * are sent, instead of queueing behind all of them. News from fal's webhook also takes the job from any round
     * in flight: that round's last write would put the next look back by a poll interval, and without its lease
     * it writes nothing. Whoever claims the job next (the webhook's own round, or the worker) starts from this news.
     */
    private static void lookNow(Job job, boolean webhook, Instant now) {
        job.dueAt(job.createdAt().isBefore(now) ? job.createdAt() : now, now);
        if (webhook) {
            job.releaseLease();
        }
    }

    /**
     * The round's last write: applies {@code change} to the locked row if our lease still holds and, in the same
     * transaction, gives the lease back (unless an extra fal request of the job awaits settling this round).
     */
    boolean write(Round round, String what, Consumer<Job> change) {
        return write(round, what, change, true);
    }

    /** A write in the middle of a round (e.g. before a submit leaves): the lease stays ours. */
    boolean keepingLease(Round round, String what, Consumer<Job> change) {
        return write(round, what, change, false);
    }

    /**
     * Applies {@code change} to the locked row if our lease still holds, logging any change of status. A
     * worker whose lease lapsed writes nothing, and a job that moved on meanwhile (e.g. a caller cancelled
     * it) refuses a stale change: both leave the job to its newer state.
     */
    private boolean write(Round round, String what, Consumer<Job> change, boolean last) {
        try {
            Boolean applied = tx.execute(status -> {
                round.ledger = null; // read afresh under this write's lock
                Job job = jobs.findForUpdate(round.claim.jobId()).orElse(null);
                if (job == null || !job.isLeasedWith(round.claim.token())) {
                    log.warn("Job {}: lease lost before '{}'; leaving the job to its new holder", round.claim.jobId(), what);
                    round.released = true; // not ours to give back any more
                    return false;
                }
                JobStatus before = job.status();
                change.accept(job);
                if (last && ledgerOf(round).stream().noneMatch(job::leavesUnsettled)) {
                    job.releaseLease();
                    round.released = true;
                }
                recordTransition(job, before);
                return true;
            });
            return Boolean.TRUE.equals(applied);
        } catch (IllegalStateException e) {
            log.info("Job {}: skipped '{}': {}", round.claim.jobId(), what, e.getMessage());
            return false;
        }
    }

    /**
     * Counts and logs the locked job's change of status from {@code before} and, when the job just ended, books
     * its spend: the one place where "a job ended" turns into money, for the worker's rounds and a caller's cancel
     * alike. Call it last in the transaction: jobs ending meanwhile share the spend rollup's rows, so each
     * transaction holds its row's lock for its commit only (booked first, the upsert was 3.6 ms on average at 250
     * completions/s, most of it waiting for that lock).
     */
    void recordTransition(Job job, JobStatus before) {
        recordTransition(job, before, null);
    }

    private void recordTransition(Job job, JobStatus before, String detail) {
        if (job.status() == before) {
            return;
        }
        boolean ended = job.status().isTerminal();
        metrics.entered(job);
        log.info("Job {}: {} -> {}{}", job.id(), before.value(), job.status().value(),
                ended ? " (cost " + Usd.format(job.costUsd()) + " USD)" : detail != null ? " (" + detail + ")" : "");
        if (ended) {
            jobs.flush();
            if (job.status() == JobStatus.COMPLETED) {
                archive.requestCopy(job.id(), job.videoUrl(), reportedFileSize(job)); // copied after commit, by any instance
            }
            if (job.callbackUrl() != null) { // sent after commit, by any instance; the body is the job as it ended
                callbacks.jobEnded(job.id(), job.client(), job.callbackUrl(), job.callbackFormat(),
                        job.status().value(), json.writeValueAsString(resources.of(job)));
            }
            if (!job.isSandbox()) { // free, and out of spend
                spendBook.jobEnded(job.client(), job.completedAt(), job.costUsd());
            }
        }
    }

    /** fal billed for another of the ended job's requests: its cost, metrics and spend follow the ledger. */
    void rebook(Round round, Job job, Instant now) {
        BigDecimal before = job.costUsd();
        job.rebook(bookedCost(round), now);
        if (!job.isSandbox()) {
            metrics.booked(job.client(), job.costUsd().subtract(before));
            spendBook.jobRebooked(job.client(), job.completedAt(), job.costUsd().subtract(before));
        }
    }

    /** fal's {@code video.file_size}, which the archived copy must match; null when fal did not say. */
    private Long reportedFileSize(Job job) {
        try {
            JsonNode size = json.readTree(job.result()).path("video").path("file_size");
            return size.canConvertToLong() ? size.asLong() : null;
        } catch (RuntimeException e) {
            return null;
        }
    }


    /** Gives the lease back; a finished job stays due only while an extra fal request is unsettled. */
    void end(Round round) {
        tx.executeWithoutResult(status -> {
            Job job = jobs.findForUpdate(round.claim.jobId()).orElse(null);
            if (job == null || !job.isLeasedWith(round.claim.token())) {
                return;
            }
            Instant now = now();
            if (job.status().isTerminal()) {
                boolean unsettled = !ledger.findByJobIdAndStatus(job.id(), FalRequestEntry.ACTIVE).isEmpty();
                job.dueAt(unsettled ? now.plus(settings.pollInterval()) : null, now);
            } else if (round.failed) {
                job.dueAt(now.plus(settings.retryBase()), now);
            }
            job.releaseLease();
        });
    }

    void settle(Round round, Job job, String requestId, String outcome, BigDecimal billable, Instant now) {
        entryOf(round, requestId).settle(outcome, billable, job.priceUsd(), now);
    }

    /** The job's ledger line for {@code requestId}, as read in the current write. */
    FalRequestEntry entryOf(Round round, String requestId) {
        return ledgerOf(round).stream().filter(entry -> entry.requestId().equals(requestId)).findFirst().orElseThrow();
    }

    /** The job's cost is what fal billed over all of its requests, as booked in the ledger. */
    BigDecimal bookedCost(Round round) {
        return FalRequestEntry.costOf(ledgerOf(round));
    }

    /** The job's ledger, read once per write (the job's row lock keeps it from changing meanwhile). */
    List<FalRequestEntry> ledgerOf(Round round) {
        if (round.ledger == null) {
            round.ledger = ledger.findByJobId(round.claim.jobId());
        }
        return round.ledger;
    }

    String error(String code, String message, Integer falStatus, JsonNode falDetail, String falErrorType) {
        ObjectNode error = json.createObjectNode();
        error.put("code", code);
        error.put("message", message);
        error.put("retryable", false);
        error.put("fal_status", falStatus);
        error.set("fal_detail", falDetail);
        error.put("fal_error_type", falErrorType);
        return json.writeValueAsString(error);
    }

    Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
