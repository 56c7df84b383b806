package dev.falgate.job;

import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import dev.falgate.fal.FalClient;
import dev.falgate.fal.FalRequest;
import dev.falgate.fal.ResultOutcome;
import dev.falgate.fal.StatusOutcome;
import dev.falgate.fal.SubmitOutcome;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Drives jobs through fal's queue, entirely from the database: claim due jobs (a lease with a token),
 * make one fal call per job outside any transaction, write the outcome in a short transaction that
 * first checks the lease is still ours. A restart, a crash or a second instance loses nothing: what
 * is due is in the table. Tests call {@link #runOnce()}; the background loop is a thin shell around it.
 */
@Component
class JobWorker implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(JobWorker.class);

    private final JobRepository jobs;
    private final JobClaims claims;
    private final FalClient fal;
    private final TransactionTemplate tx;
    private final WorkerSettings settings;
    private final JsonMapper json;
    private final Clock clock;
    private final String owner;
    private final ExecutorService pool;
    private ScheduledExecutorService loop;
    private volatile boolean running;
    private volatile boolean started;

    @Autowired
    JobWorker(JobRepository jobs, JobClaims claims, FalClient fal, TransactionTemplate tx, WorkerSettings settings,
            JsonMapper json, Clock clock) {
        this(jobs, claims, fal, tx, settings, json, clock,
                ManagementFactory.getRuntimeMXBean().getName() + "/" + UUID.randomUUID().toString().substring(0, 8));
    }

    JobWorker(JobRepository jobs, JobClaims claims, FalClient fal, TransactionTemplate tx, WorkerSettings settings,
            JsonMapper json, Clock clock, String owner) {
        this.jobs = jobs;
        this.claims = claims;
        this.fal = fal;
        this.tx = tx;
        this.settings = settings;
        this.json = json;
        this.clock = clock;
        this.owner = owner;
        AtomicInteger threads = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(settings.concurrency(),
                task -> daemon(task, "falgate-job-" + threads.incrementAndGet()));
    }

    /** Claims what is due (at most one job per free thread), works on it, and returns how many jobs it took. */
    int runOnce() {
        Instant now = now();
        List<JobClaims.Claim> claimed = claims.claimDue(owner, settings.concurrency(), now, now.plus(settings.lease()));
        List<Future<?>> work = new ArrayList<>(claimed.size());
        for (JobClaims.Claim claim : claimed) {
            work.add(pool.submit(() -> process(claim)));
        }
        for (Future<?> done : work) {
            try {
                done.get();
            } catch (ExecutionException e) {
                log.error("Job work failed unexpectedly; its lease expires and it is retried", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return claimed.size();
    }

    private void process(JobClaims.Claim claim) {
        Job job = jobs.findById(claim.jobId()).orElse(null);
        if (job == null || !job.isLeasedWith(claim.token())) {
            return;
        }
        try {
            if (job.status() == JobStatus.QUEUED) {
                submit(job, claim);
            } else if (!job.status().isTerminal()) {
                track(job, claim);
            }
        } catch (RuntimeException e) {
            log.error("Job {}: unexpected failure while {}; retried when its lease expires", job.id(),
                    job.status().value(), e);
        }
    }

    // --- submit ---------------------------------------------------------------------------------

    private void submit(Job job, JobClaims.Claim claim) {
        if (job.hasUnknownSubmit()) {
            // A previous submit's answer was lost and the grace for fal to reveal it has passed.
            log.warn("Job {}: the outcome of the submit sent at {} is still unknown after {}; submitting again",
                    job.id(), job.submitStartedAt(), settings.unknownSubmitGrace());
        }
        if (!write(claim, "begin submit", j -> j.beginSubmit(now()), true)) {
            return;
        }
        SubmitOutcome outcome = fal.submit(job.input(), null);
        Instant now = now();
        if (outcome instanceof SubmitOutcome.Accepted accepted) {
            adopt(claim, accepted.request(), accepted.queuePosition());
        } else if (outcome instanceof SubmitOutcome.Rejected rejected) {
            write(claim, "fail a rejected submit", j -> j.markFailed(
                    error("fal_rejected", "fal rejected the request (HTTP " + rejected.httpStatus() + ")",
                            rejected.httpStatus(), rejected.detail(), rejected.errorType()), null, now));
        } else if (outcome instanceof SubmitOutcome.Retryable retry) {
            Duration delay = retry.operatorProblem() ? settings.refusedRetry()
                    : backoff(job.attempts() + 1, retry.retryAfter());
            log.warn("Job {}: submit not accepted, {}; retrying in {}", job.id(), retry.reason(), delay);
            write(claim, "schedule a submit retry", j -> j.retrySubmitAt(now.plus(delay), now));
        } else if (outcome instanceof SubmitOutcome.Unknown unknown) {
            log.warn("Job {}: submit outcome unknown ({}); fal may hold it, not re-sending for {}", job.id(),
                    unknown.reason(), settings.unknownSubmitGrace());
            write(claim, "await an unknown submit",
                    j -> j.awaitUnknownSubmitUntil(now.plus(settings.unknownSubmitGrace()), now));
        }
    }

    /**
     * fal holds a request for this job: record it even if our lease lapsed meanwhile, because a request
     * we forget is one we pay for and never deliver.
     */
    private void adopt(JobClaims.Claim claim, FalRequest request, Integer position) {
        tx.executeWithoutResult(status -> {
            Job job = jobs.findForUpdate(claim.jobId()).orElseThrow();
            if (job.status() != JobStatus.QUEUED) {
                log.error("Job {}: fal request {} was created while the job is already {} with fal request {}; "
                        + "fal may bill both", job.id(), request.requestId(), job.status().value(), job.falRequestId());
                return;
            }
            Instant now = now();
            job.markSubmitted(request, position, now, now.plus(settings.pollInterval()));
            if (job.isLeasedWith(claim.token())) {
                job.releaseLease();
            }
            log.info("Job {}: queued -> submitted (fal request {}, attempt {})", job.id(), request.requestId(),
                    job.attempts());
        });
    }

    // --- tracking ---------------------------------------------------------------------------------

    private void track(Job job, JobClaims.Claim claim) {
        FalRequest request = job.falRequest();
        StatusOutcome status = fal.status(request);
        Instant now = now();
        Instant nextPoll = now.plus(pollDelay(job, now));
        if (status instanceof StatusOutcome.InQueue queued) {
            write(claim, "note queue position", j -> j.markInQueue(queued.queuePosition(), now, nextPoll));
        } else if (status instanceof StatusOutcome.InProgress) {
            write(claim, "mark in progress", j -> j.markInProgress(now, nextPoll));
        } else if (status instanceof StatusOutcome.Completed completed) {
            finish(job, claim, request, completed, nextPoll);
        } else if (status instanceof StatusOutcome.Unavailable unavailable) {
            log.warn("Job {}: status of fal request {} unavailable ({}); polling again", job.id(),
                    request.requestId(), unavailable.reason());
            write(claim, "poll again", j -> j.pollAgainAt(nextPoll, now));
        }
    }

    private void finish(Job job, JobClaims.Claim claim, FalRequest request, StatusOutcome.Completed completed,
            Instant retryAt) {
        ResultOutcome result = fal.result(request);
        Instant now = now();
        if (result instanceof ResultOutcome.Unavailable unavailable) {
            log.warn("Job {}: result of fal request {} unavailable ({}); fetching again", job.id(),
                    request.requestId(), unavailable.reason());
            write(claim, "fetch the result again", j -> j.pollAgainAt(retryAt, now));
        } else if (result instanceof ResultOutcome.ModelError failure) {
            write(claim, "fail", j -> j.markFailed(
                    error(completed.errorType() != null ? completed.errorType() : "fal_failed",
                            completed.error() != null ? completed.error() : "fal reported an error for the request",
                            failure.httpStatus(), failure.detail(), failure.errorType()),
                    failure.billableUnits(), now));
        } else if (result instanceof ResultOutcome.Output output) {
            JsonNode video = output.body().path("video");
            if (!completed.succeeded() || !video.path("url").isString()) {
                String message = completed.succeeded() ? "fal's result has no video URL" : completed.error();
                write(claim, "fail", j -> j.markFailed(error("fal_failed", message, null, output.body(),
                        completed.errorType()), output.billableUnits(), now));
                return;
            }
            JsonNode seed = output.body().path("seed");
            write(claim, "complete", j -> j.markCompleted(json.writeValueAsString(output.body()),
                    seed.canConvertToLong() ? seed.asLong() : null, video.path("url").asString(),
                    completed.inferenceTimeSeconds(), output.billableUnits(), now));
        }
    }

    // --- writes, timing -----------------------------------------------------------------------------

    private boolean write(JobClaims.Claim claim, String what, Consumer<Job> change) {
        return write(claim, what, change, false);
    }

    /**
     * Applies {@code change} to the locked row if our lease still holds, logging any change of status. A
     * worker whose lease lapsed writes nothing: a newer holder's state wins.
     */
    private boolean write(JobClaims.Claim claim, String what, Consumer<Job> change, boolean keepLease) {
        Boolean applied = tx.execute(status -> {
            Job job = jobs.findForUpdate(claim.jobId()).orElse(null);
            if (job == null || !job.isLeasedWith(claim.token())) {
                log.warn("Job {}: lease lost before '{}'; leaving the job to its new holder", claim.jobId(), what);
                return false;
            }
            JobStatus before = job.status();
            change.accept(job);
            if (!keepLease) {
                job.releaseLease();
            }
            if (job.status() != before) {
                log.info("Job {}: {} -> {}{}", job.id(), before.value(), job.status().value(),
                        job.status().isTerminal() ? " (cost " + JobResource.usd(job.costUsd()) + " USD)" : "");
            }
            return true;
        });
        return Boolean.TRUE.equals(applied);
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

    /** Poll often at first, then at most ten times per order of magnitude of time at fal, up to the cap. */
    private Duration pollDelay(Job job, Instant now) {
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

    // --- lifecycle ---------------------------------------------------------------------------------

    @Override
    public void start() {
        started = true;
        if (!settings.enabled()) {
            log.info("Job worker disabled on this instance (falgate.worker.enabled=false)");
            return;
        }
        running = true;
        loop = Executors.newSingleThreadScheduledExecutor(task -> daemon(task, "falgate-worker"));
        loop.scheduleWithFixedDelay(this::drain, 0, settings.idleDelay().toMillis(), TimeUnit.MILLISECONDS);
        log.info("Job worker {} started: {} at once, polling fal every {}", owner, settings.concurrency(),
                settings.pollInterval());
    }

    private void drain() {
        try {
            while (running && runOnce() == settings.concurrency()) {
                // a full batch: more may be due right away
            }
        } catch (RuntimeException e) {
            log.error("Job worker round failed; trying again shortly", e);
        }
    }

    /** Graceful shutdown: claim nothing new, let the calls under way finish, give back every lease still held. */
    @Override
    public void stop() {
        running = false;
        started = false;
        if (loop != null) {
            loop.shutdown();
            awaitQuietly(loop, settings.shutdownGrace());
        }
        pool.shutdown();
        awaitQuietly(pool, settings.shutdownGrace());
        try {
            int released = claims.releaseAll(owner);
            log.info("Job worker {} stopped{}", owner, released > 0 ? "; released " + released + " leased job(s)" : "");
        } catch (RuntimeException e) {
            // The database is gone too; our leases simply expire and other instances take the jobs then.
            log.warn("Job worker {} stopped without releasing its leases ({}); they expire within {}", owner,
                    e.getClass().getSimpleName(), settings.lease());
        }
    }

    private static void awaitQuietly(ExecutorService executor, Duration timeout) {
        try {
            if (!executor.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return started;
    }

    private static Thread daemon(Runnable task, String name) {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        return thread;
    }

    String owner() {
        return owner;
    }

}
