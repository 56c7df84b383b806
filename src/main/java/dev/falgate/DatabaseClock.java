package dev.falgate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's clock corrected to PostgreSQL's, in UTC.
 *
 * <p>Why: leases, due times, grace periods and deadlines are written by one instance and acted on by
 * another. Instance clocks can be skewed by minutes, so an instance running ahead would take over leases
 * early and one running behind would hand work out late; PostgreSQL's clock is the one clock all instances
 * share.
 *
 * <p>How: {@link #instant()} is on hot paths, so it never asks the database. It adds an offset to the base
 * (local) clock. The offset is measured against {@code clock_timestamp()} when the clock is created and then
 * every refresh interval (30 s by default), from the midpoint of the round trip of the fastest of a few
 * queries. A failed measurement keeps the last offset (zero if the database has never answered) and logs
 * one warning until a measurement succeeds again. {@link #close()} stops the refresh thread.
 */
public final class DatabaseClock extends Clock implements AutoCloseable {

    public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(30);

    private static final Logger log = LoggerFactory.getLogger(DatabaseClock.class);

    /** Queries per measurement; the one with the shortest round trip gives the offset. */
    private static final int SAMPLES = 5;
    private static final int QUERY_TIMEOUT_SECONDS = 5;

    private final DataSource dataSource;
    private final Clock base;
    private final Duration refreshInterval;
    private final ScheduledExecutorService refresher;

    /** PostgreSQL's clock minus the base clock. */
    private volatile long offsetNanos;

    /** Whether the last measurement failed, so that an outage is reported once. Guarded by {@code this}. */
    private boolean failing;
    /** Whether any measurement has succeeded. Guarded by {@code this}. */
    private boolean measuredOnce;

    /** A clock that follows PostgreSQL's, with {@code base} (normally {@link Clock#systemUTC()}) between refreshes. */
    public DatabaseClock(DataSource dataSource, Clock base) {
        this(dataSource, base, DEFAULT_REFRESH_INTERVAL);
    }

    public DatabaseClock(DataSource dataSource, Clock base, Duration refreshInterval) {
        if (refreshInterval.isNegative() || refreshInterval.isZero()) {
            throw new IllegalArgumentException("refreshInterval must be positive: " + refreshInterval);
        }
        this.dataSource = dataSource;
        this.base = base;
        this.refreshInterval = refreshInterval;
        this.refresher = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "falgate-clock-sync");
            thread.setDaemon(true);
            return thread;
        });
        refresh();
        long interval = refreshInterval.toNanos();
        refresher.scheduleWithFixedDelay(this::refresh, interval, interval, TimeUnit.NANOSECONDS);
    }

    @Override
    public Instant instant() {
        return base.instant().plusNanos(offsetNanos);
    }

    @Override
    public long millis() {
        return instant().toEpochMilli();
    }

    /**
     * PostgreSQL's clock minus this instance's clock, as last measured: positive when this instance's clock
     * is behind. Zero until the database has answered once.
     */
    public Duration offset() {
        return Duration.ofNanos(offsetNanos);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return ZoneOffset.UTC.equals(zone) ? this : new Zoned(this, zone);
    }

    /** Stops the refresh; {@link #instant()} keeps working with the last offset. */
    @Override
    public void close() {
        refresher.shutdownNow();
    }

    private synchronized void refresh() {
        long measured;
        try {
            measured = measureOffsetNanos();
        } catch (SQLException | RuntimeException e) {
            if (refresher.isShutdown()) {
                return; // closing: the data source may already be gone
            }
            if (!failing) {
                failing = true;
                if (measuredOnce) {
                    log.warn("Could not read PostgreSQL's clock; keeping the last offset {} and retrying every {}: {}",
                            offset(), refreshInterval, e.toString());
                } else {
                    log.warn("Could not read PostgreSQL's clock; using this instance's clock uncorrected and "
                            + "retrying every {}: {}", refreshInterval, e.toString());
                }
            } else {
                log.debug("PostgreSQL's clock still unreadable", e);
            }
            return;
        }
        Duration previous = offset();
        offsetNanos = measured;
        boolean recovered = failing;
        failing = false;
        if (!measuredOnce) {
            measuredOnce = true;
            log.info("Offset to PostgreSQL's clock: {}", offset());
        } else if (recovered) {
            log.info("PostgreSQL's clock readable again; offset {} (was {})", offset(), previous);
        } else {
            log.debug("Offset to PostgreSQL's clock: {}", offset());
        }
    }

    private long measureOffsetNanos() throws SQLException {
        try (Connection connection = dataSource.getConnection();
                PreparedStatement query = connection.prepareStatement("select clock_timestamp()")) {
            query.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
            long bestRoundTrip = Long.MAX_VALUE;
            long bestOffset = 0;
            for (int i = 0; i < SAMPLES; i++) {
                Instant sent = base.instant();
                long start = System.nanoTime();
                Instant database;
                try (ResultSet result = query.executeQuery()) {
                    if (!result.next()) {
                        throw new SQLException("select clock_timestamp() returned no row");
                    }
                    database = result.getObject(1, OffsetDateTime.class).toInstant();
                }
                long roundTrip = System.nanoTime() - start;
                if (roundTrip < bestRoundTrip) {
                    bestRoundTrip = roundTrip;
                    bestOffset = Duration.between(sent.plusNanos(roundTrip / 2), database).toNanos();
                }
            }
            return bestOffset;
        }
    }

    /** The same time seen in another zone; only the zone differs. */
    private static final class Zoned extends Clock {

        private final DatabaseClock source;
        private final ZoneId zone;

        Zoned(DatabaseClock source, ZoneId zone) {
            this.source = source;
            this.zone = zone;
        }

        @Override
        public Instant instant() {
            return source.instant();
        }

        @Override
        public ZoneId getZone() {
            return zone;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return source.withZone(zone);
        }
    }
}
