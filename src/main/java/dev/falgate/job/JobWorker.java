package dev.falgate.job;

import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;


/**
 * Drives jobs through fal's queue, entirely from the database: claim due jobs (a lease with a token) and
 * let {@link JobProcessor} work on each, on as many threads as {@code falgate.worker.concurrency}. A restart, a crash or a second instance loses nothing: what is
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
    private Thread loop;
    private final Object signal = new Object();
    private boolean wakeRequested;
    private volatile boolean running;
    private volatile boolean started;
    /** Threads free for a round; the background loop and {@link #runOnce()} share them. */
    private final Semaphore free;
    private volatile long lastClaimAt = System.nanoTime();
    private final AtomicInteger loopRestarts = new AtomicInteger();

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
        this.free = new Semaphore(settings.concurrency());
    }

    /** The threads that work on claimed jobs; made anew after a stop, since a stopped context may be started again. */
    private synchronized ExecutorService pool() {
        if (pool == null || pool.isShutdown()) {
            pool = Executors.newFixedThreadPool(settings.concurrency(),
                    task -> daemon(task, "falgate-job-" + threads.incrementAndGet()));
        }
        return pool;
    }

    /**
     * One turn of the loop, as tests step it: claims what is due (at most one job per free thread), then waits
     * until this instance's rounds have ended. Returns how many jobs it took.
     */
    int runOnce() {
        int claimed = turn();
        free.acquireUninterruptibly(settings.concurrency()); // every round of this instance has ended
        free.release(settings.concurrency());
        return claimed;
    }

    /**
     * The loop's one step, the same for the background loop and for tests: claim as many due jobs as there are
     * free threads ({@link JobClaims#claimDue}, the one way work is picked) and start a round on each.
     */
    private int turn() {
        int slots = free.availablePermits();
        if (slots == 0) {
            return 0;
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        List<JobClaims.Claim> claimed = claims.claimDue(owner, slots, now, now.plus(settings.lease()));
        lastClaimAt = System.nanoTime();
        for (JobClaims.Claim claim : claimed) {
            free.acquireUninterruptibly();
            pool().execute(() -> {
                try {
                    processor.process(claim);
                } catch (RuntimeException e) {
                    log.error("Job {}: work failed unexpectedly; its lease expires and it is retried", claim.jobId(), e);
                } finally {
                    free.release();
                    wake();
                }
            });
        }
        return claimed.size();
    }

    /**
     * Something became due right now (a job was accepted, fal's webhook arrived, a thread came free): look
     * without waiting for the next tick. Wakes that arrive while one is pending fold into it.
     */
    void wake() {
        synchronized (signal) {
            wakeRequested = true;
            signal.notifyAll();
        }
    }

    /**
     * The background loop: keeps every worker thread busy, claiming as many due jobs as there are free threads
     * whenever one comes free, instead of waiting for a whole batch as {@link #runOnce()} does.
     */
    private void pump() {
        while (running) {
            try {
                int slots = free.availablePermits();
                if (turn() < slots || slots == 0) {
                    awaitWake(settings.idleDelay()); // nothing more due, or every thread busy
                }
            } catch (RuntimeException e) {
                log.error("Job worker round failed; trying again shortly", e);
                awaitWake(settings.idleDelay());
            }
        }
    }

    /**
     * Runs the loop and restarts it if it dies: an {@link Error} (a stack overflow in one round, an out-of-memory
     * that passed) must not silently stop every job's tracking on this instance.
     */
    private void supervise() {
        while (running) {
            try {
                pump();
            } catch (Throwable e) { // NOPMD: the loop must survive anything but a stop
                loopRestarts.incrementAndGet();
                log.error("Job worker loop died; restarting it", e);
                awaitWake(settings.idleDelay());
            }
        }
    }

    /**
     * Whether the background loop runs and has claimed within {@code within} (true where it is disabled): a loop
     * that died, or whose every thread is stuck, claims nothing however much is due.
     */
    boolean claiming(Duration within) {
        if (!settings.enabled() || !started) {
            return true;
        }
        return loop != null && loop.isAlive() && System.nanoTime() - lastClaimAt < within.toNanos();
    }

    int loopRestarts() {
        return loopRestarts.get();
    }

    private void awaitWake(Duration atMost) {
        synchronized (signal) {
            if (!wakeRequested && running) {
                try {
                    signal.wait(atMost.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    running = false;
                }
            }
            wakeRequested = false;
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
        lastClaimAt = System.nanoTime();
        loop = daemon(this::supervise, "falgate-worker");
        loop.start();
        log.info("Job worker {} started: {} at once, polling fal every {}", owner, settings.concurrency(),
                settings.pollInterval());
    }

    /** Graceful shutdown: claim nothing new, let the calls under way finish, give back every lease still held. */
    @Override
    public void stop() {
        running = false;
        started = false;
        wake();
        if (loop != null) {
            try {
                loop.join(settings.shutdownGrace().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
