package dev.falgate.ledger;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.ThreadLocalRandom;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.util.Assert;

/**
 * Keeps the per-client, per-day spend rollup ({@code spend_daily}) in step with the jobs: called in the
 * transaction that ends a job or changes its cost, so reports over the rollup always equal the sum of
 * {@code cost_usd} over the jobs. A client's day is spread over {@link #SHARDS} rows, one picked at random per
 * booking: with a single row, every transaction ending a job waited for the previous one to commit. Once a day
 * is over, its rows are folded into one, so reports read about one row per client and day.
 */
@Service
public class SpendBook {

    static final int SHARDS = 16;

    private final JdbcClient jdbc;
    private final Clock clock;

    SpendBook(JdbcClient jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    /**
     * Folds the rows of each day before today into its shard 0, in one statement (a booking that arrives late for
     * such a day is folded the next time). Safe on several instances at once: rows another run already folded are
     * simply no longer there to delete.
     */
    @Scheduled(fixedDelay = 3_600_000, initialDelay = 60_000)
    void foldPastDays() {
        jdbc.sql("""
                with folded as (
                    delete from spend_daily where day < :today and shard <> 0
                    returning client, day, total_usd, jobs)
                insert into spend_daily (client, day, shard, total_usd, jobs)
                select client, day, 0, sum(total_usd), sum(jobs) from folded group by client, day
                on conflict (client, day, shard) do update
                   set total_usd = spend_daily.total_usd + excluded.total_usd, jobs = spend_daily.jobs + excluded.jobs
                """).param("today", LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC)).update();
    }

    /** A job of {@code client} ended at {@code completedAt} costing {@code cost}. */
    public void jobEnded(String client, Instant completedAt, BigDecimal cost) {
        add(client, completedAt, cost, 1);
    }

    /** A job that ended at {@code completedAt} was booked {@code delta} more (a late duplicate fal billed). */
    public void jobRebooked(String client, Instant completedAt, BigDecimal delta) {
        add(client, completedAt, delta, 0);
    }

    private void add(String client, Instant completedAt, BigDecimal amount, int jobs) {
        Assert.state(TransactionSynchronizationManager.isActualTransactionActive(),
                "the rollup changes in the transaction that changes the job, or the two can drift apart");
        jdbc.sql("""
                insert into spend_daily (client, day, shard, total_usd, jobs) values (:client, :day, :shard, :amount, :jobs)
                on conflict (client, day, shard) do update
                   set total_usd = spend_daily.total_usd + :amount, jobs = spend_daily.jobs + :jobs
                """).param("client", client).param("day", LocalDate.ofInstant(completedAt, ZoneOffset.UTC))
                .param("shard", ThreadLocalRandom.current().nextInt(SHARDS)).param("amount", amount).param("jobs", jobs).update();
    }
}
