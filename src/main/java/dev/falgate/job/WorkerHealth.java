package dev.falgate.job;

import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Health {@code worker}: DOWN when this instance's background loop died or stopped claiming while jobs are due
 * (by PostgreSQL's clock), so an orchestrator restarts it instead of letting paid jobs sit. Details say how many
 * jobs are due and how many wait on a submit whose answer was lost (and whether fal's listing answers).
 */
@Component("worker")
class WorkerHealth implements HealthIndicator {

    private final JobWorker worker;
    private final JobMetrics metrics;
    private final JdbcClient jdbc;
    private final WorkerSettings settings;
    private final Clock clock;

    WorkerHealth(JobWorker worker, JobMetrics metrics, JdbcClient jdbc, WorkerSettings settings, Clock clock) {
        this.clock = clock;
        this.settings = settings;
        this.worker = worker;
        this.metrics = metrics;
        this.jdbc = jdbc;
    }

    @Override
    public Health health() {
        Timestamp now = Timestamp.from(clock.instant()); // PostgreSQL's time, through DatabaseClock
        long due = jdbc.sql("""
                select count(*) from job
                 where next_attempt_at <= :now and (lease_expires_at is null or lease_expires_at <= :now)
                """).param("now", now).query(Long.class).single();
        long unknownSubmits = jdbc.sql("select count(*) from job where status = 'queued' and submit_started_at is not null")
                .query(Long.class).single();
        Health.Builder health = worker.claiming(settings.stuckAfter()) || due == 0 ? Health.up() : Health.down()
                .withDetail("reason", "the worker loop is not running, or has claimed nothing for "
                        + settings.stuckAfter() + " while jobs are due");
        health.withDetail("due_jobs", due)
                .withDetail("loop_restarts", worker.loopRestarts())
                .withDetail("unknown_submits_waiting", unknownSubmits);
        Instant listingFailing = metrics.listingFailingSince();
        if (listingFailing != null) {
            health.withDetail("fal_listing_failing_since", listingFailing.toString());
        }
        return health.build();
    }
}
