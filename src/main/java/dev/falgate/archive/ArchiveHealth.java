package dev.falgate.archive;

import java.time.Clock;
import java.time.Duration;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Health {@code archive}: where copies go, how many wait, how long the longest-due one has waited, how many failed in
 * the last day. DOWN when this instance copies and a copy has been due for longer than a lease: nobody is copying.
 */
@Component("archiveHealthIndicator") // health "archive"
class ArchiveHealth implements HealthIndicator {

    private final Archive archive;
    private final ArchiveCopies copies;
    private final ArchiveSettings settings;
    private final Clock clock;
    private final boolean copying;

    ArchiveHealth(Archive archive, ArchiveCopies copies, ArchiveSettings settings, Clock clock,
            @Value("${falgate.worker.enabled:true}") boolean copying) {
        this.archive = archive;
        this.copies = copies;
        this.settings = settings;
        this.clock = clock;
        this.copying = copying;
    }

    @Override
    public Health health() {
        if (!archive.isOn()) {
            return Health.up().withDetail("mode", ArchiveSettings.OFF).build();
        }
        ArchiveCopies.Backlog backlog;
        try {
            backlog = copies.backlog(clock.instant());
        } catch (org.springframework.dao.DataAccessException e) {
            return Health.down().withDetail("error", "backlog unreadable: " + e.getClass().getSimpleName()).build();
        }
        boolean stuck = copying && backlog.oldestDueSeconds() > settings.lease().plus(Duration.ofMinutes(1)).toSeconds();
        return (stuck ? Health.down() : Health.up())
                .withDetail("mode", settings.effectiveMode())
                .withDetail("pending", backlog.pending())
                .withDetail("oldest_due_seconds", Math.round(backlog.oldestDueSeconds()))
                .withDetail("failed_last_24h", backlog.failedLastDay())
                .build();
    }
}
