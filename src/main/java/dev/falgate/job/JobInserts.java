package dev.falgate.job;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The accept path's INSERT, written as SQL: it is the hottest write falgate makes, and going through the JPA
 * session for rows nobody reads back in that transaction cost a third of the accept's CPU (bench/README.md).
 * A group of jobs goes in as one statement over arrays, so it is one prepared statement whatever the group's
 * size. Every later change of a job goes through {@link Job}'s guarded methods.
 */
@Component
class JobInserts {

    // Arrays travel as text[] and are cast here: the driver's own conversions of timestamps and decimals in
    // arrays go through the JVM's time zone and toString, which text in ISO form and plain decimals avoid.
    private static final String INSERT = """
            insert into job (id, client, status, endpoint_id, input, metadata, price_usd, attempts, next_attempt_at,
                             idempotency_key, request_hash, created_at, updated_at, deadline_at, callback_url,
                             callback_format, sandbox)
            select id, client, status, endpoint_id, input::json, metadata::json, price_usd, 0, created_at,
                   idempotency_key, request_hash, created_at, created_at, deadline_at, callback_url, callback_format,
                   sandbox::boolean
            from unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::text[],
                        ?::text[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::text[], ?::text[])
                 as accepted (id, client, status, endpoint_id, input, metadata, price_usd, idempotency_key,
                              request_hash, created_at, deadline_at, callback_url, callback_format, sandbox)
            on conflict do nothing
            returning id
            """;

    private final JdbcTemplate jdbc;

    JobInserts(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Inserts the newly accepted jobs (due at once) and returns the ids of those that went in. A job whose
     * Idempotency-Key its client has already used does not: the unique index decides, and the caller replays
     * the job that holds the key.
     */
    Set<UUID> insert(List<Job> accepted) {
        Set<UUID> inserted = new HashSet<>();
        jdbc.query(connection -> {
            PreparedStatement insert = connection.prepareStatement(INSERT);
            int column = 0;
            for (Function<Job, Object> field : List.<Function<Job, Object>>of(Job::id, Job::client,
                    job -> job.status().value(), Job::endpointId, Job::input, Job::metadata,
                    job -> job.priceUsd().toPlainString(), Job::idempotencyKey, Job::requestHash, Job::createdAt, Job::deadlineAt,
                    Job::callbackUrl, Job::callbackFormat, Job::isSandbox)) {
                insert.setArray(++column, texts(connection, accepted, field));
            }
            return insert;
        }, row -> {
            inserted.add(row.getObject(1, UUID.class));
        });
        return inserted;
    }

    private static Array texts(Connection connection, List<Job> jobs, Function<Job, Object> field) throws SQLException {
        return connection.createArrayOf("text", jobs.stream().map(field)
                .map(value -> Objects.toString(value, null)).toArray(String[]::new));
    }
}
