package dev.falgate.job;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.NonTransientDataAccessException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import dev.falgate.fal.CancelOutcome;
import dev.falgate.fal.FalClient;
import dev.falgate.fal.FalRequest;
import dev.falgate.fal.ResultOutcome;
import dev.falgate.fal.StatusOutcome;
import dev.falgate.fal.SubmitOutcome;
import dev.falgate.spend.SpendBook;
import dev.falgate.web.Usd;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * One round of work on one claimed job: submit it, or follow it at fal, then settle any extra fal
 * request that appeared for it, then give the lease back. Each fal call happens outside a transaction;
 * each write locks the row and checks the lease first, so a worker that lost its lease writes nothing.
 */
@Component
class JobProcessor {

    private static final Logger log = LoggerFactory.getLogger(JobProcessor.class);

    private final JobRepository jobs;
    private final FalRequestLedger ledger;
    private final FalClient fal;
    private final TransactionTemplate tx;
    private final WorkerSettings settings;
    private final JsonMapper json;
    private final JobMetrics metrics;
    private final SpendBook spendBook;
    private final Clock clock;
    private final LostSubmitSearch lostSubmits;

    JobProcessor(JobRepository jobs, FalRequestLedger ledger, FalClient fal, TransactionTemplate tx,
            WorkerSettings settings, JsonMapper json, JobMetrics metrics, SpendBook spendBook, Clock clock,
            LostSubmitSearch lostSubmits) {
        this.lostSubmits = lostSubmits;
        this.spendBook = spendBook;
        this.metrics = metrics;
        this.jobs = jobs;
        this.ledger = ledger;
        this.fal = fal;
        this.tx = tx;
        this.settings = settings;
        this.json = json;
        this.clock = clock;
    }

    /**
     * One claimed job's round. Its last write also gives the lease back, so a poll costs one read, one fal call
     * and one write; only a round that found an extra fal request, or failed, needs more.
     */
    void process(JobClaims.Claim claim) {
        process(claim, null, null);
    }

    /**
     * A claimed job's round.
     *
     * @param loaded the job as the caller read it under this claim (fal's webhook, see {@link #learnFromWebhook}),
     *        or null to read it here
     * @param succeededRequestId a request fal's signed webhook reported as completed successfully, or null: if it
     *        is the job's request, the status call is skipped (only its inference time is then not recorded)
     */
    void process(JobClaims.Claim claim, Job loaded, String succeededRequestId) {
        Round round = new Round(claim);
        Job job = loaded != null ? loaded : startRound(round);
        if (job == null || !job.isLeasedWith(claim.token())) {
            return;
        }
        try {
            if (job.isPastDeadline(now())) {
                endAtDeadline(job, round);
            } else if (job.status() == JobStatus.QUEUED) {
                submit(job, round);
            } else if (!job.status().isTerminal()) {
                track(job, round, succeededRequestId);
            }
            if (!round.released) {
                settleExtras(round);
            }
        } catch (RuntimeException e) {
            round.failed = true;
            log.error("Job {}: unexpected failure while {}; trying again later", job.id(), job.status().value(), e);
        } finally {
            if (!round.released) {
                endRound(round);
            }
        }
    }

    /**
     * Reads the claimed job under its lock and, if the round is a plain submit, records in the same transaction
     * that the submit is about to leave (see {@link Job#beginSubmit}), so a submit costs one transaction less.
     */
    private Job startRound(Round round) {
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

    /** What one round holds: the lease, and whether it was already given back. */
    private static final class Round {
        final JobClaims.Claim claim;
        boolean released;
        boolean failed;
        boolean submitBegun;
        /** The job's ledger as read in the current write, under the job's row lock; null until that write needs it. */
        List<FalRequestEntry> ledger;

        Round(JobClaims.Claim claim) {
            this.claim = claim;
        }
    }

    // --- submit ---------------------------------------------------------------------------------

    private void submit(Job job, Round round) {
        Instant now = now();
        if (!round.submitBegun && job.hasUnknownSubmit()) {
            if (!resolveUnknownSubmit(job, round, now)) {
                return;
            }
        } else if (!round.submitBegun && job.isCancelRequested()) {
            // a cancel arrived while a submit was out, and that submit created nothing: nothing at fal to stop
            write(round, "cancel", j -> j.markCancelled(bookedCost(round), now));
            return;
        }
        if (!round.submitBegun && !keepingLease(round, "begin submit", j -> j.beginSubmit(now))) {
            return;
        }
        SubmitOutcome outcome = fal.submit(job.input(), job.id());
        Instant answered = now();
        if (outcome instanceof SubmitOutcome.Accepted accepted) {
            round.released = learnOfRequest(job.id(), accepted.request(), accepted.queuePosition(), round.claim);
        } else if (outcome instanceof SubmitOutcome.Rejected rejected) {
            write(round, "fail a rejected submit", j -> j.markFailed(
                    error("fal_rejected", "fal rejected the request (HTTP " + rejected.httpStatus() + ")",
                            rejected.httpStatus(), rejected.detail(), rejected.errorType()),
                    null, bookedCost(round), answered));
        } else if (outcome instanceof SubmitOutcome.Retryable retry && retry.operatorProblem()) {
            refused(job, round, retry, answered);
        } else if (outcome instanceof SubmitOutcome.Retryable retry) {
            Duration delay = backoff(job.attempts() + 1, retry.retryAfter());
            log.warn("Job {}: submit not accepted, {}; retrying in {}", job.id(), retry.reason(), delay);
            write(round, "schedule a submit retry", cancelledOr(round, answered,
                    j -> j.retrySubmitAt(answered.plus(delay), answered)));
        } else if (outcome instanceof SubmitOutcome.Unknown unknown) {
            log.warn("Job {}: submit outcome unknown ({}); fal may hold it: searching fal's request listing, "
                    + "never re-sending blindly", job.id(), unknown.reason());
            write(round, "await an unknown submit",
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
                j.markCancelled(bookedCost(round), now);
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
        LostSubmitSearch.Finding finding = lostSubmits.search(job.input(), job.submitStartedAt());
        metrics.lostSubmitSearched(finding);
        if (finding instanceof LostSubmitSearch.Found found) {
            log.warn("Job {}: fal's request listing holds request {} with the job's input; adopting it", job.id(),
                    found.requestId());
            round.released = learnOfRequest(job.id(), new FalRequest(found.requestId(), null, null, null), null,
                    round.claim, "listing");
            return false;
        }
        Instant next = now.plus(settings.lostSubmitSearchInterval());
        if (finding instanceof LostSubmitSearch.Unavailable unavailable) {
            log.warn("Job {}: fal's request listing could not answer ({}); the job waits, it is not sent again",
                    job.id(), unavailable.reason());
            write(round, "await the request listing", j -> j.awaitUnknownSubmitUntil(next, now));
            return false;
        }
        if (now.isBefore(graceEnds)) {
            // fal may list a new request late: look again until the grace is over
            write(round, "await an unknown submit",
                    j -> j.awaitUnknownSubmitUntil(next.isBefore(graceEnds) ? next : graceEnds, now));
            return false;
        }
        if (job.isCancelRequested()) {
            write(round, "cancel", j -> j.markCancelled(bookedCost(round), now));
            return false;
        }
        log.warn("Job {}: fal's request listing holds no request for the submit sent at {} after {}; submitting again",
                job.id(), job.submitStartedAt(), settings.unknownSubmitGrace());
        return true;
    }

    /**
     * The job reached its deadline unfinished: it fails {@code deadline_exceeded}, charged what the ledger says fal
     * billed so far. A request fal still holds for it is asked to cancel and then settled like an extra request
     * (bounded), so a late bill is still booked.
     */
    private void endAtDeadline(Job job, Round round) {
        FalRequest request = job.falRequest();
        if (request != null) {
            askFalToCancel(round, request);
        }
        Instant now = now();
        log.error("Job {}: still {} at its deadline {}; failing it", job.id(), job.status().value(), job.deadlineAt());
        write(round, "fail at the deadline", j -> j.markFailed(error("deadline_exceeded",
                "The job did not finish within " + settings.jobMaxAge() + " of its acceptance (while "
                        + j.status().value() + ")", null, null, null), null, bookedCost(round), now));
    }

    /** fal refuses our key or account: the job waits (uncharged) for an operator, up to the maximum wait. */
    private void refused(Job job, Round round, SubmitOutcome.Retryable retry, Instant now) {
        Instant since = job.refusedSince() != null ? job.refusedSince() : now;
        if (!now.isBefore(since.plus(settings.refusedMaxWait()))) {
            write(round, "give up on a refused job", cancelledOr(round, now, j -> j.markFailed(error("fal_unavailable",
                    "fal refused our key or account for " + settings.refusedMaxWait() + "; the job was never run",
                    retry.httpStatus(), null, null), null, bookedCost(round), now)));
            return;
        }
        log.warn("Job {}: {}; retrying in {}", job.id(), retry.reason(), settings.refusedRetry());
        write(round, "wait for fal to accept us",
                cancelledOr(round, now, j -> j.refusedByFal(now.plus(settings.refusedRetry()), now)));
    }

    /**
     * fal holds {@code request} for the job: book it, and make it the job's request unless the job already has
     * one. Written even if our lease lapsed meanwhile, because a request we forget is paid for and never
     * delivered. Repeated news changes nothing. Returns whether the submitting round's lease was given back.
     */
    boolean learnOfRequest(UUID jobId, FalRequest request, Integer position, JobClaims.Claim claim) {
        return learnOfRequest(jobId, request, position, claim, "submit");
    }

    private boolean learnOfRequest(UUID jobId, FalRequest request, Integer position, JobClaims.Claim claim,
            String via) {
        Boolean released = tx.execute(status -> {
            Job job = jobs.findForUpdate(jobId).orElseThrow();
            boolean adopted = learn(job, request, position, via, null);
            // the submitting worker's round ends here: give its lease back in the same transaction
            if (adopted && job.isLeasedWith(claim.token())) {
                job.releaseLease();
                return true;
            }
            return false;
        });
        return Boolean.TRUE.equals(released);
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
        if (!jobs.existsById(jobId)) {
            return Ownership.NO_SUCH_JOB;
        }
        StatusOutcome status = fal.status(new FalRequest(requestId, null, null, null));
        if (status instanceof StatusOutcome.NotFound) {
            return Ownership.NOT_OURS;
        }
        return status instanceof StatusOutcome.Unavailable ? Ownership.UNCONFIRMED : Ownership.CONFIRMED;
    }

    /** A lease a webhook's request takes for its own round, as a claim would have. */
    record Lease(String owner, UUID token, Instant until) {
    }

    /** What fal's webhook led to: whether the job exists, and the job as taken for a round of its own (or null). */
    record WebhookNews(boolean jobExists, JobClaims.Claim claim, Job job) {
    }

    /**
     * fal's (signed) webhook names a request it holds for the job: learn of it as of a submit's answer. When the
     * news gives the job something to do, the job is made due and, given a {@code lease}, taken for the webhook's
     * own round in the same transaction; without one, whoever claims it next starts from this news.
     */
    WebhookNews learnFromWebhook(UUID jobId, FalRequest request, Lease lease) {
        return tx.execute(status -> {
            Job job = jobs.findForUpdate(jobId).orElse(null);
            if (job == null) {
                return new WebhookNews(false, null, null);
            }
            learn(job, request, null, "webhook", lease);
            return lease != null && job.isLeasedWith(lease.token())
                    ? new WebhookNews(true, new JobClaims.Claim(jobId, lease.token()), job)
                    : new WebhookNews(true, null, null);
        });
    }

    /**
     * Books a request fal holds for the locked job, learned {@code via} "submit" or "webhook" (then
     * {@code webhookLease}, if any, is the webhook's own round). Returns whether the request became the job's own.
     */
    private boolean learn(Job job, FalRequest request, Integer position, String via, Lease webhookLease) {
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
                lookNow(job, webhook, webhookLease, now); // news about a request we know
            }
            return false;
        }
        ledger.save(FalRequestEntry.learned(request, jobId, via, now));
        if (job.status() == JobStatus.QUEUED) {
            job.markSubmitted(request, position, now, now.plus(fal.webhooksEnabled()
                    ? settings.webhookPollInterval() : settings.pollInterval()));
            metrics.entered(job);
            log.info("Job {}: queued -> submitted (fal request {}, learned via {}, attempt {})", jobId,
                    request.requestId(), via, job.attempts());
            if (webhook || job.isCancelRequested()) {
                lookNow(job, webhook, webhookLease, now); // fal's webhook means the request has finished; a cancel is waiting
            }
            return true;
        }
        log.error("Job {}: a second fal request {} exists (the job's is {}); cancelling it, both are booked",
                jobId, request.requestId(), job.falRequestId());
        lookNow(job, webhook, webhookLease, now);
        return false;
    }

    /**
     * Makes the job due, as of its acceptance: the worker claims due jobs oldest first, so when it has a backlog
     * of submits, a job fal has finished (paid for, its video waiting) is fetched before jobs accepted after it
     * are sent, instead of queueing behind all of them. News from fal's webhook also takes
     * the job from any round in flight: that round's last write would put the next look back by a poll
     * interval, and its lease no longer lets it write. The job goes to the webhook's own round
     * ({@code webhookLease}) or, without one, to whoever claims it next; either starts from this news.
     */
    private static void lookNow(Job job, boolean webhook, Lease webhookLease, Instant now) {
        job.dueAt(job.createdAt().isBefore(now) ? job.createdAt() : now, now);
        if (webhook && webhookLease != null) {
            job.leaseTo(webhookLease.owner(), webhookLease.token(), webhookLease.until());
        } else if (webhook) {
            job.releaseLease();
        }
    }

    // --- tracking ---------------------------------------------------------------------------------

    private void track(Job job, Round round, String succeededRequestId) {
        FalRequest request = job.falRequest();
        boolean reportedDone = request.requestId().equals(succeededRequestId);
        if (job.isCancelRequested() && !reportedDone) {
            askFalToCancel(round, request);
        }
        StatusOutcome status = reportedDone ? new StatusOutcome.Completed(null, null, null) : fal.status(request);
        Instant now = now();
        Instant nextPoll = now.plus(pollDelay(job, now));
        if (status instanceof StatusOutcome.InQueue queued) {
            write(round, "note queue position", j -> j.markInQueue(queued.queuePosition(), now, nextPoll));
        } else if (status instanceof StatusOutcome.InProgress) {
            write(round, "mark in progress", j -> j.markInProgress(now, nextPoll));
        } else if (status instanceof StatusOutcome.Completed completed) {
            finish(job, round, request, completed, nextPoll);
        } else if (status instanceof StatusOutcome.NotFound && job.submittedAt() != null
                && !now.isBefore(job.submittedAt().plus(settings.lostRequestAfter()))) {
            log.error("Job {}: fal no longer knows request {}; failing the job uncharged", job.id(), request.requestId());
            write(round, "fail a request fal lost", j -> {
                settle(round, j, request.requestId(), "failed", null, now);
                j.markFailed(error("fal_request_lost", "fal answers 404 for the job's request " + request.requestId()
                        + " since at least " + settings.lostRequestAfter(), 404, null, null), null, bookedCost(round), now);
            });
        } else if (status instanceof StatusOutcome.NotFound) {
            log.warn("Job {}: fal answered 404 for request {}; asking again", job.id(), request.requestId());
            write(round, "poll again", j -> j.pollAgainAt(nextPoll, now));
        } else if (status instanceof StatusOutcome.Unavailable unavailable) {
            log.warn("Job {}: status of fal request {} unavailable ({}); polling again", job.id(),
                    request.requestId(), unavailable.reason());
            write(round, "poll again", j -> j.pollAgainAt(nextPoll, now));
        }
    }

    private void askFalToCancel(Round round, FalRequest request) {
        FalRequestEntry entry = ledger.findById(request.requestId()).orElse(null);
        if (entry == null || entry.cancelRequestedAt() != null) {
            return;
        }
        CancelOutcome answer = fal.cancel(request);
        log.info("Job {}: asked fal to cancel request {}: {}", round.claim.jobId(), request.requestId(), answer);
        if (answer != CancelOutcome.UNAVAILABLE) {
            Instant now = now();
            keepingLease(round, "note the cancel",
                    j -> ledger.findById(request.requestId()).orElseThrow().markCancelRequested(now));
        }
    }

    private void finish(Job job, Round round, FalRequest request, StatusOutcome.Completed completed,
            Instant retryAt) {
        ResultOutcome result = fal.result(request);
        Instant now = now();
        String requestId = request.requestId();
        if (result instanceof ResultOutcome.Unavailable unavailable) {
            log.warn("Job {}: result of fal request {} unavailable ({}); fetching again", job.id(), requestId,
                    unavailable.reason());
            write(round, "fetch the result again", j -> j.pollAgainAt(retryAt, now));
            return;
        }
        JsonNode video = result instanceof ResultOutcome.Output output ? output.body().path("video") : null;
        if (completed.succeeded() && video != null && video.path("url").isString()) {
            ResultOutcome.Output output = (ResultOutcome.Output) result;
            JsonNode seed = output.body().path("seed");
            try {
                write(round, "complete", j -> {
                    settle(round, j, requestId, "completed", output.billableUnits(), now);
                    j.markCompleted(json.writeValueAsString(output.body()), seed.canConvertToLong() ? seed.asLong() : null,
                            video.path("url").asString(), completed.inferenceTimeSeconds(), output.billableUnits(),
                            bookedCost(round), now);
                });
            } catch (NonTransientDataAccessException e) {
                // A result the database refuses would be fetched and refused again forever: end the job clearly.
                // fal completed (and billed) the request, so it is booked as completed.
                log.error("Job {}: fal's result for request {} cannot be stored ({}); failing the job", job.id(),
                        requestId, e.getClass().getSimpleName());
                write(round, "fail an unstorable result", j -> {
                    settle(round, j, requestId, "completed", null, now);
                    j.markFailed(error("result_unstorable", "fal completed the request but its result could not be "
                            + "stored (" + e.getClass().getSimpleName() + ")", null, null, null), null,
                            bookedCost(round), now);
                });
            }
            return;
        }
        BigDecimal billable = billableUnitsOf(result);
        String errorJson = failure(completed, result);
        if (job.isCancelRequested()) {
            write(round, "cancel", j -> {
                settle(round, j, requestId, "cancelled", billable, now);
                j.markCancelled(bookedCost(round), now);
            });
        } else {
            write(round, "fail", j -> {
                settle(round, j, requestId, "failed", billable, now);
                j.markFailed(errorJson, billable, bookedCost(round), now);
            });
        }
    }

    private String failure(StatusOutcome.Completed completed, ResultOutcome result) {
        if (result instanceof ResultOutcome.ModelError error) {
            return error(completed.errorType() != null ? completed.errorType() : "fal_failed",
                    completed.error() != null ? completed.error() : "fal reported an error for the request",
                    error.httpStatus(), error.detail(), error.errorType());
        }
        ResultOutcome.Output output = (ResultOutcome.Output) result;
        return error("fal_failed", completed.succeeded() ? "fal's result has no video URL" : completed.error(),
                null, output.body(), completed.errorType());
    }

    // --- extra fal requests -------------------------------------------------------------------------

    /**
     * Any request fal holds for the job besides the job's own (a lost submit answer that surfaced after the
     * job was submitted again) is cancelled, followed to its end, and booked as fal bills it.
     */
    private void settleExtras(Round round) {
        Job job = jobs.findById(round.claim.jobId()).orElseThrow();
        for (FalRequestEntry extra : ledger.findByJobIdAndStatus(job.id(), FalRequestEntry.ACTIVE)) {
            if (!extra.isUnsettledExtraOf(job)) {
                continue;
            }
            FalRequest request = extra.falRequest();
            String requestId = request.requestId();
            if (extra.settleAttempts() >= settings.settleMaxAttempts()) {
                // fal never told us how it ended: stop asking, book nothing, and say so loudly for reconciliation
                log.error("Job {}: fal request {} did not settle in {} looks; booked unsettled at 0.00, check it "
                        + "against fal's invoice", job.id(), requestId, extra.settleAttempts());
                Instant now = now();
                keepingLease(round, "give up settling a fal request", j -> settle(round, j, requestId, "unsettled", null, now));
                metrics.unsettled();
                continue;
            }
            if (extra.cancelRequestedAt() == null) {
                askFalToCancel(round, request);
            }
            StatusOutcome status = fal.status(request);
            ResultOutcome result = status instanceof StatusOutcome.Completed ? fal.result(request) : null;
            if (result == null || result instanceof ResultOutcome.Unavailable) {
                keepingLease(round, "count a look at a fal request",
                        j -> ledgerOf(round).stream().filter(entry -> entry.requestId().equals(requestId)).findFirst()
                                .ifPresent(FalRequestEntry::countSettleAttempt));
                continue;
            }
            StatusOutcome.Completed completed = (StatusOutcome.Completed) status;
            BigDecimal billable = billableUnitsOf(result);
            String outcome = completed.succeeded() && result instanceof ResultOutcome.Output ? "completed" : "cancelled";
            Instant now = now();
            keepingLease(round, "settle an extra fal request", j -> {
                settle(round, j, requestId, outcome, billable, now);
                if (j.status().isTerminal()) {
                    BigDecimal before = j.costUsd();
                    j.rebook(bookedCost(round), now);
                    metrics.booked(j.client(), j.costUsd().subtract(before));
                    spendBook.jobRebooked(j.client(), j.completedAt(), j.costUsd().subtract(before));
                }
            });
            log.warn("Job {}: extra fal request {} ended {}; booked as fal bills it", job.id(), requestId, outcome);
        }
    }

    // --- writes, bookings, timing --------------------------------------------------------------------

    /**
     * The round's last write: applies {@code change} to the locked row if our lease still holds and, in the same
     * transaction, gives the lease back (unless an extra fal request of the job awaits settling this round).
     */
    private boolean write(Round round, String what, Consumer<Job> change) {
        return write(round, what, change, true);
    }

    /** A write in the middle of a round (e.g. before a submit leaves): the lease stays ours. */
    private boolean keepingLease(Round round, String what, Consumer<Job> change) {
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
                boolean ended = job.status() != before && job.status().isTerminal();
                if (job.status() != before) {
                    metrics.entered(job);
                    log.info("Job {}: {} -> {}{}", job.id(), before.value(), job.status().value(),
                            ended ? " (cost " + Usd.format(job.costUsd()) + " USD)" : "");
                }
                if (last && ledgerOf(round).stream().noneMatch(entry -> entry.isUnsettledExtraOf(job))) {
                    job.releaseLease();
                    round.released = true;
                }
                if (ended) {
                    // Last, after the job's own writes: jobs ending meanwhile share the rollup's rows, so each
                    // transaction holds its row's lock for its commit only (booked first, the upsert was 3.6 ms on
                    // average at 250 completions/s, most of it waiting for that lock).
                    jobs.flush();
                    spendBook.jobEnded(job.client(), job.completedAt(), job.costUsd());
                }
                return true;
            });
            return Boolean.TRUE.equals(applied);
        } catch (IllegalStateException e) {
            log.info("Job {}: skipped '{}': {}", round.claim.jobId(), what, e.getMessage());
            return false;
        }
    }

    /** Gives the lease back; a finished job stays due only while an extra fal request is unsettled. */
    private void endRound(Round round) {
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

    /** What fal billed for a request that answered (its output or its error). */
    private static BigDecimal billableUnitsOf(ResultOutcome answered) {
        return answered instanceof ResultOutcome.Output output ? output.billableUnits()
                : ((ResultOutcome.ModelError) answered).billableUnits();
    }

    private void settle(Round round, Job job, String requestId, String outcome, BigDecimal billable, Instant now) {
        ledgerOf(round).stream().filter(entry -> entry.requestId().equals(requestId)).findFirst().orElseThrow()
                .settle(outcome, billable, job.priceUsd(), now);
    }

    /** The job's cost is what fal billed over all of its requests, as booked in the ledger. */
    private BigDecimal bookedCost(Round round) {
        return ledgerOf(round).stream().map(FalRequestEntry::costUsd).filter(Objects::nonNull)
                .reduce(BigDecimal.ZERO, BigDecimal::add);
    }

    /** The job's ledger, read once per write (the job's row lock keeps it from changing meanwhile). */
    private List<FalRequestEntry> ledgerOf(Round round) {
        if (round.ledger == null) {
            round.ledger = ledger.findByJobId(round.claim.jobId());
        }
        return round.ledger;
    }

    private String error(String code, String message, Integer falStatus, JsonNode falDetail, String falErrorType) {
        ObjectNode error = json.createObjectNode();
        error.put("code", code);
        error.put("message", message);
        error.put("retryable", false);
        error.put("fal_status", falStatus);
        error.set("fal_detail", falDetail);
        error.put("fal_error_type", falErrorType);
        return json.writeValueAsString(error);
    }

    /**
     * Poll often at first, then at most ten times per order of magnitude of time at fal, up to the cap. With
     * fal's webhooks on, the webhook brings the news and polling is only the slow fallback.
     */
    private Duration pollDelay(Job job, Instant now) {
        if (fal.webhooksEnabled()) {
            return settings.webhookPollInterval();
        }
        Instant since = job.submittedAt() != null ? job.submittedAt() : now;
        Duration stretched = Duration.between(since, now).dividedBy(10);
        Duration delay = stretched.compareTo(settings.pollInterval()) > 0 ? stretched : settings.pollInterval();
        return delay.compareTo(settings.pollIntervalCap()) < 0 ? delay : settings.pollIntervalCap();
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

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

}
