package dev.falgate.callback;

import java.time.Clock;
import java.time.Duration;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Health {@code callbacks}: how many events wait, how long the longest-due one has waited, how many failed or were
 * refused with 410 in the last day. DOWN when this instance delivers and an event has been due for longer than a
 * lease and a round could take: nobody is delivering. Receivers that fail are their owners' concern, not DOWN.
 */
@Component("callbacksHealthIndicator") // health "callbacks"
class CallbackHealth implements HealthIndicator {

    private final CallbackOutbox outbox;
    private final CallbackSettings settings;
    private final Clock clock;
    private final boolean delivering;

    CallbackHealth(CallbackOutbox outbox, CallbackSettings settings, Clock clock,
            @Value("${falgate.worker.enabled:true}") boolean delivering) {
        this.outbox = outbox;
        this.settings = settings;
        this.clock = clock;
        this.delivering = delivering;
    }

    @Override
    public Health health() {
        CallbackOutbox.Backlog backlog;
        try {
            backlog = outbox.backlog(clock.instant());
        } catch (org.springframework.dao.DataAccessException e) {
            return Health.down().withDetail("error", "backlog unreadable: " + e.getClass().getSimpleName()).build();
        }
        Duration stuckAfter = settings.lease().plus(settings.timeout()).plus(Duration.ofMinutes(1));
        boolean stuck = delivering && backlog.oldestDueSeconds() > stuckAfter.toSeconds();
        return (stuck ? Health.down() : Health.up())
                .withDetail("pending", backlog.pending())
                .withDetail("oldest_due_seconds", Math.round(backlog.oldestDueSeconds()))
                .withDetail("failed_last_24h", backlog.failedLastDay())
                .build();
    }
}
