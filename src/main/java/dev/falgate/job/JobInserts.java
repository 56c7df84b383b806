package dev.falgate.job;

import java.sql.Timestamp;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The accept path's one INSERT, written as SQL: it is the hottest write falgate makes, and going through
 * the JPA session for a row nobody reads back in that transaction cost a third of the accept's CPU
 * (bench/README.md). Every later change of the job goes through {@link Job}'s guarded methods.
 */
@Component
class JobInserts {

    private final JdbcClient jdbc;

    JobInserts(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    void insert(Job job) {
        jdbc.sql("""
                insert into job (id, client, status, endpoint_id, input, metadata, price_usd, attempts, next_attempt_at,
                                 idempotency_key, request_hash, created_at, updated_at)
                values (:id, :client, :status, :endpoint, :input::json, :metadata::json, :price, 0, :due,
                        :idempotencyKey, :requestHash, :created, :created)
                """)
                .param("id", job.id()).param("client", job.client()).param("status", job.status().value())
                .param("endpoint", job.endpointId()).param("input", job.input()).param("metadata", job.metadata())
                .param("price", job.priceUsd()).param("due", Timestamp.from(job.nextAttemptAt()))
                .param("idempotencyKey", job.idempotencyKey()).param("requestHash", job.requestHash())
                .param("created", Timestamp.from(job.createdAt()))
                .update();
    }
}
