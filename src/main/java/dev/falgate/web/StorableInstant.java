package dev.falgate.web;

import java.time.Instant;

/**
 * The instants a query may name: years 1 to 9999. Wider ones parse in Java but overflow {@code java.sql.Timestamp}
 * or PostgreSQL's {@code timestamptz}, which turned a caller's odd date into a 500; they are a 400 instead.
 */
public final class StorableInstant {

    private static final Instant EARLIEST = Instant.parse("0001-01-01T00:00:00Z");
    private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59.999999Z");

    /** What a field problem says of an instant outside the range. */
    public static final String RANGE = "must lie between years 1 and 9999";

    private StorableInstant() {
    }

    public static boolean holds(Instant instant) {
        return !instant.isBefore(EARLIEST) && !instant.isAfter(LATEST);
    }
}
