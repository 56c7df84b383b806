package dev.falgate.access;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Per-key token buckets kept in PostgreSQL, so every gateway instance draws from the same bucket: a key
 * limited to N requests a minute holds at most N tokens, refilled continuously at N a minute. One atomic
 * statement per request (the bucket row locked) takes a token or tells how long until the next one.
 * Bucket4j's PostgreSQL backend does the same with more machinery, and is not among the packages this
 * project's registry lists; the statement below is the whole algorithm.
 */
@Component
class RateLimiter {

    private static final String TAKE = """
            update rate_limit_bucket bucket
               set tokens = case when r.available >= 1 then r.available - 1 else r.available end,
                   refilled_at = :now
              from (select key_id,
                           least(:capacity, tokens + extract(epoch from (cast(:now as timestamptz) - refilled_at)) * :perSecond) as available
                      from rate_limit_bucket where key_id = :key for update) r
             where bucket.key_id = r.key_id
            returning r.available >= 1 as taken, bucket.tokens as tokens
            """;

    private final JdbcClient jdbc;

    RateLimiter(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** Takes a token for the key (zero wait), or answers how long until one is there. */
    Duration waitBeforeNext(UUID keyId, int perMinute, Instant now) {
        double perSecond = perMinute / 60.0;
        Optional<Map<String, Object>> bucket = take(keyId, perMinute, perSecond, now);
        if (bucket.isEmpty()) {
            int created = jdbc.sql("insert into rate_limit_bucket (key_id, tokens, refilled_at) values (?, ?, ?) "
                            + "on conflict (key_id) do nothing")
                    .param(keyId).param(perMinute - 1).param(Timestamp.from(now)).update();
            if (created == 1) {
                return Duration.ZERO; // a new, full bucket gave its first token
            }
            bucket = take(keyId, perMinute, perSecond, now);
        }
        Map<String, Object> row = bucket.orElseThrow();
        if (Boolean.TRUE.equals(row.get("taken"))) {
            return Duration.ZERO;
        }
        double tokens = ((Number) row.get("tokens")).doubleValue();
        return Duration.ofMillis((long) Math.ceil((1 - tokens) / perSecond * 1000));
    }

    private Optional<Map<String, Object>> take(UUID keyId, int capacity, double perSecond, Instant now) {
        return jdbc.sql(TAKE).param("key", keyId).param("capacity", capacity).param("perSecond", perSecond)
                .param("now", Timestamp.from(now)).query().listOfRows().stream().findFirst();
    }
}
