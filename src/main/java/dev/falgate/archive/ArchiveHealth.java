package dev.falgate.archive;

import java.time.Clock;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Health {@code archive}: where copies go, how many wait, how long the longest-due one has waited, how many failed in
 * the last day. DOWN only when this instance's copying loop died or hangs (restart it); a backlog or a failing CDN
 * is reported, not DOWN, since taking instances out of rotation would not copy anything sooner.
 */
@Component("archiveHealthIndicator") // health "archive"
class ArchiveHealth implements HealthIndicator {

    private final Archive archive;
    private final ArchiveCopies copies;
    private final ArchiveSettings settings;
    private final ArchiveWorker worker;
    private final Clock clock;

    ArchiveHealth(Archive archive, ArchiveCopies copies, ArchiveSettings settings, ArchiveWorker worker, Clock clock) {
        this.archive = archive;
        this.copies = copies;
        this.settings = settings;
        this.worker = worker;
        this.clock = clock;
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
        return (worker.isLive() ? Health.up() : Health.down().withDetail("reason", "the copying loop is not running"))
                .withDetail("mode", settings.effectiveMode())
                .withDetail("pending", backlog.pending())
                .withDetail("oldest_due_seconds", Math.round(backlog.oldestDueSeconds()))
                .withDetail("failed_last_24h", backlog.failedLastDay())
                .build();
    }
}
