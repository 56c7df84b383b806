package dev.falgate.job;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import jakarta.annotation.PreDestroy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.stereotype.Component;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.support.TransactionTemplate;

import dev.falgate.ledger.Budgets;
import dev.falgate.web.ApiException;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Commits accepted jobs in groups. One job per transaction made PostgreSQL spend more CPU on the statements
 * and the commit around each row than on the row itself (bench/README.md). Request threads hand their job to
 * a few writer threads and wait; a writer takes everything queued (up to {@value #MAX_GROUP} jobs) and admits
 * it in one transaction: the budgets of the group's clients locked once, one INSERT, one COMMIT. A request is
 * answered only after its row is committed, so the guarantees stay those of one job per transaction: a budget
 * admits exactly what fits, an Idempotency-Key makes one job, and a crash loses only requests never answered.
 */
@Component
class GroupCommit {

    private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);
    static final int MAX_GROUP = 64;
    /** Two writers: one commits while the other collects the next group, and neither waits on the other's lock. */
    private static final int WRITERS = 2;

    /** What became of a job handed in: in, or its Idempotency-Key was taken first (by a committed job). */
    enum Outcome { INSERTED, KEY_TAKEN }

    private record Pending(Job job, CompletableFuture<Outcome> outcome) {
    }

    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final List<Thread> writers = new ArrayList<>();
    private final Budgets budgets;
    private final JobInserts inserts;
    private final TransactionTemplate tx;
    private final DistributionSummary groupSizes;
    private volatile boolean running = true;

    GroupCommit(Budgets budgets, JobInserts inserts, DataSource dataSource, MeterRegistry meters) {
        this.budgets = budgets;
        this.inserts = inserts;
        this.tx = new TransactionTemplate(new DataSourceTransactionManager(dataSource)); // plain JDBC, no JPA session
        this.groupSizes = DistributionSummary.builder("falgate.accept.group.size")
                .description("Jobs committed together by one accept transaction").register(meters);
        Gauge.builder("falgate.accept.waiting", queue, BlockingQueue::size)
                .description("Accepted jobs waiting for their group's commit").register(meters);
        for (int i = 1; i <= WRITERS; i++) {
            Thread writer = new Thread(this::write, "accept-commit-" + i);
            writer.setDaemon(true);
            writer.start();
            writers.add(writer);
        }
    }

    /**
     * Admits the job against its client's budget and inserts it; returns once that is committed.
     *
     * @throws ApiException 402 when the client's budget cannot take it
     */
    Outcome insert(Job job) {
        Pending pending = new Pending(job, new CompletableFuture<>());
        if (!running) {
            throw new IllegalStateException("falgate is shutting down; the job was not accepted");
        }
        queue.add(pending);
        try {
            return pending.outcome().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the job's commit was pending", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause; // the writer's exception as it was: a 402, or the database's failure
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Requests still in flight when the server stops are committed before the writers end. */
    @PreDestroy
    void stop() throws InterruptedException {
        running = false;
        for (Thread writer : writers) {
            writer.join(TimeUnit.SECONDS.toMillis(30));
        }
        for (Pending late; (late = queue.poll()) != null; ) {
            late.outcome().completeExceptionally(new IllegalStateException("falgate stopped before the job was stored"));
        }
    }

    private void write() {
        List<Pending> group = new ArrayList<>(MAX_GROUP);
        while (running || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                group.add(first);
                queue.drainTo(group, MAX_GROUP - 1);
                commit(group);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException | Error e) { // never leave a caller waiting for ever
                group.forEach(pending -> pending.outcome().completeExceptionally(e));
                log.error("Committing a group of {} accepted jobs failed", group.size(), e);
            } finally {
                group.clear();
            }
        }
    }

    private void commit(List<Pending> group) {
        Map<Pending, Object> outcomes;
        try {
            outcomes = tx.execute(status -> admitAndInsert(group));
        } catch (RuntimeException e) {
            if (group.size() == 1 || unreachable(e)) {
                group.forEach(pending -> pending.outcome().completeExceptionally(e));
                return;
            }
            // Nothing of the group went in; one job's failure must not fail its neighbours: each alone.
            log.warn("A group of {} accepted jobs failed to commit ({}); committing each alone", group.size(),
                    e.getClass().getSimpleName());
            group.forEach(pending -> commit(List.of(pending)));
            return;
        }
        outcomes.forEach((pending, outcome) -> {
            if (outcome instanceof Outcome done) {
                pending.outcome().complete(done);
            } else {
                pending.outcome().completeExceptionally((RuntimeException) outcome);
            }
        });
        groupSizes.record(group.size());
    }

    /** Each job's outcome, or the 402 refusing it; completed by the caller only once the transaction committed. */
    private Map<Pending, Object> admitAndInsert(List<Pending> group) {
        Map<Pending, Object> outcomes = new IdentityHashMap<>();
        Budgets.Admission admission = budgets.lock(group.stream().map(pending -> pending.job().client())
                .collect(Collectors.toSet()));
        Set<String> admittedKeys = new HashSet<>();
        List<Pending> admitted = new ArrayList<>();
        for (Pending pending : group) {
            Job job = pending.job();
            String key = job.idempotencyKey() == null ? null : job.client() + "\n" + job.idempotencyKey();
            if (key != null && admittedKeys.contains(key)) {
                outcomes.put(pending, Outcome.KEY_TAKEN); // by the same key earlier in this group
                continue;
            }
            try {
                if (!job.isSandbox()) { // sandbox jobs are free and stay out of budgets
                    admission.admit(job.client(), job.priceUsd());
                }
            } catch (ApiException refused) {
                outcomes.put(pending, refused);
                continue;
            }
            if (key != null) {
                admittedKeys.add(key);
            }
            admitted.add(pending);
        }
        if (!admitted.isEmpty()) {
            Set<UUID> inserted = inserts.insert(admitted.stream().map(Pending::job).toList());
            admitted.forEach(pending -> outcomes.put(pending,
                    inserted.contains(pending.job().id()) ? Outcome.INSERTED : Outcome.KEY_TAKEN));
        }
        return outcomes;
    }

    /** The database could not be reached: every job alone would only wait for the same failure again. */
    private static boolean unreachable(RuntimeException e) {
        return e instanceof DataAccessResourceFailureException || e instanceof TransientDataAccessResourceException
                || e instanceof CannotCreateTransactionException;
    }
}
