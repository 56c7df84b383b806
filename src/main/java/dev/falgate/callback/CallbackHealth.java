package dev.falgate.callback;

import java.time.Clock;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Health {@code callbacks}: how many events wait, how long the longest-due one has waited, how many failed or were
 * refused with 410 in the last day. DOWN only when this instance's delivery loop died or hangs (restart it); a
 * backlog is reported, not DOWN: receivers that fail or stall are their owners' concern, and a backlog is shared by
 * every instance, which would all go out of rotation at once.
 */
@Component("callbacksHealthIndicator") // health "callbacks"
class CallbackHealth implements HealthIndicator {

    private final CallbackOutbox outbox;
    private final CallbackWorker worker;
    private final Clock clock;

    CallbackHealth(CallbackOutbox outbox, CallbackWorker worker, Clock clock) {
        this.outbox = outbox;
        this.worker = worker;
        this.clock = clock;
    }

    @Override
    public Health health() {
        CallbackOutbox.Backlog backlog;
        try {
            backlog = outbox.backlog(clock.instant());
        } catch (org.springframework.dao.DataAccessException e) {
            return Health.down().withDetail("error", "backlog unreadable: " + e.getClass().getSimpleName()).build();
        }
        return (worker.isLive() ? Health.up() : Health.down().withDetail("reason", "the delivery loop is not running"))
                .withDetail("pending", backlog.pending())
                .withDetail("oldest_due_seconds", Math.round(backlog.oldestDueSeconds()))
                .withDetail("failed_last_24h", backlog.failedLastDay())
                .build();
    }
}
