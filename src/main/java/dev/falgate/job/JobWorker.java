package dev.falgate.job;

import java.lang.management.ManagementFactory;
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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Drives jobs through fal's queue, entirely from the database: claim due jobs (a lease with a token) and
 * let {@link JobProcessor} work on each. A restart, a crash or a second instance loses nothing: what is
 * due is in the table. Tests call {@link #runOnce()}; the background loop is a thin shell around it.
 */
@Component
class JobWorker implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(JobWorker.class);

    private final JobClaims claims;
    private final JobProcessor processor;
    private final WorkerSettings settings;
    private final Clock clock;
    private final String owner;
    private final AtomicInteger threads = new AtomicInteger();
    private ExecutorService pool;
    private ScheduledExecutorService loop;
    private volatile boolean running;
    private volatile boolean started;
    private final AtomicBoolean wakePending = new AtomicBoolean();

    @Autowired
    JobWorker(JobClaims claims, JobProcessor processor, WorkerSettings settings, Clock clock) {
        this(claims, processor, settings, clock,
                ManagementFactory.getRuntimeMXBean().getName() + "/" + UUID.randomUUID().toString().substring(0, 8));
    }

    JobWorker(JobClaims claims, JobProcessor processor, WorkerSettings settings, Clock clock, String owner) {
        this.claims = claims;
        this.processor = processor;
        this.settings = settings;
        this.clock = clock;
        this.owner = owner;
    }

    /** The threads that work on claimed jobs; made anew after a stop, since a stopped context may be started again. */
    private synchronized ExecutorService pool() {
        if (pool == null || pool.isShutdown()) {
            pool = Executors.newFixedThreadPool(settings.concurrency(),
                    task -> daemon(task, "falgate-job-" + threads.incrementAndGet()));
        }
        return pool;
    }

    /** Claims what is due (at most one job per thread), works on it, and returns how many jobs it took. */
    int runOnce() {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        List<JobClaims.Claim> claimed = claims.claimDue(owner, settings.concurrency(), now, now.plus(settings.lease()));
        List<Future<?>> work = new ArrayList<>(claimed.size());
        ExecutorService workers = pool();
        for (JobClaims.Claim claim : claimed) {
            work.add(workers.submit(() -> processor.process(claim)));
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

    /**
     * Something became due right now (a job was accepted, fal's webhook arrived): look without waiting for the
     * next tick. Wakes that arrive while one is pending fold into it, so a burst of submits costs one claim.
     */
    void wake() {
        ScheduledExecutorService current = loop;
        if (running && current != null && wakePending.compareAndSet(false, true)) {
            try {
                current.execute(this::drain);
            } catch (RejectedExecutionException e) {
                // stopping: the next instance to run picks the job up
            }
        }
    }

    private void drain() {
        wakePending.set(false);
        try {
            while (running && runOnce() == settings.concurrency()) {
                // a full batch: more may be due right away
            }
        } catch (RuntimeException e) {
            log.error("Job worker round failed; trying again shortly", e);
        }
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

    /** Graceful shutdown: claim nothing new, let the calls under way finish, give back every lease still held. */
    @Override
    public void stop() {
        running = false;
        started = false;
        if (loop != null) {
            loop.shutdown();
            awaitQuietly(loop, settings.shutdownGrace());
        }
        ExecutorService workers = pool();
        workers.shutdown();
        awaitQuietly(workers, settings.shutdownGrace());
        try {
            int released = claims.releaseAll(owner);
            log.info("Job worker {} stopped{}", owner, released > 0 ? "; released " + released + " leased job(s)" : "");
        } catch (RuntimeException e) {
            // The database is gone too; our leases simply expire and other instances take the jobs then.
            log.warn("Job worker {} stopped without releasing its leases ({}); they expire within {}", owner,
                    e.getClass().getSimpleName(), settings.lease());
        }
    }

    @Override
    public boolean isRunning() {
        return started;
    }

    String owner() {
        return owner;
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

    private static Thread daemon(Runnable task, String name) {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        return thread;
    }
}
