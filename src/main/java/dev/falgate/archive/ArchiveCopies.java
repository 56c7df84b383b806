package dev.falgate.archive;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/** The {@code video_archive} table: one copy per completed job, claimed under a lease with a token. */
@Component
class ArchiveCopies {

    private final JdbcClient jdbc;

    ArchiveCopies(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    record Claim(UUID jobId, UUID token, String sourceUrl, Long expectedBytes, int attempts, Instant giveUpAt) {
    }

    void request(UUID jobId, String sourceUrl, Long expectedBytes, Instant now, Instant giveUpAt) {
        jdbc.sql("""
                insert into video_archive (job_id, source_url, expected_bytes, next_attempt_at, give_up_at, created_at)
                values (:job, :url, :expected, :now, :giveUp, :now) on conflict (job_id) do nothing
                """).param("job", jobId).param("url", sourceUrl).param("expected", expectedBytes)
                .param("now", Timestamp.from(now)).param("giveUp", Timestamp.from(giveUpAt)).update();
    }

    /** Due pending copies nobody holds, oldest due first; a row another transaction holds is skipped. */
    List<Claim> claimDue(int limit, Instant now, Instant leaseUntil) {
        return jdbc.sql("""
                update video_archive set lease_token = gen_random_uuid(), lease_expires_at = :until,
                       attempts = attempts + 1
                 where job_id in (select job_id from video_archive
                                   where status = 'pending' and next_attempt_at <= :now
                                     and (lease_expires_at is null or lease_expires_at <= :now)
                                   order by next_attempt_at limit :limit
                                   for update skip locked)
                returning job_id, lease_token, source_url, expected_bytes, attempts, give_up_at
                """).param("until", Timestamp.from(leaseUntil)).param("now", Timestamp.from(now)).param("limit", limit)
                .query((row, n) -> new Claim(row.getObject("job_id", UUID.class), row.getObject("lease_token", UUID.class),
                        row.getString("source_url"), (Long) row.getObject("expected_bytes"), row.getInt("attempts"),
                        row.getTimestamp("give_up_at").toInstant()))
                .list();
    }

    boolean stored(Claim claim, String key, String sha256, long bytes, String contentType, Instant now) {
        return jdbc.sql("""
                update video_archive set status = 'stored', storage_key = :key, sha256 = :sha, bytes = :bytes,
                       content_type = :type, stored_at = :now, last_error = null, next_attempt_at = null,
                       lease_token = null, lease_expires_at = null
                 where job_id = :job and lease_token = :token
                """).param("key", key).param("sha", sha256).param("bytes", bytes).param("type", contentType)
                .param("now", Timestamp.from(now)).param("job", claim.jobId()).param("token", claim.token())
                .update() == 1;
    }

    void retry(Claim claim, String error, Instant next) {
        jdbc.sql("""
                update video_archive set last_error = :error, next_attempt_at = :next, lease_token = null,
                       lease_expires_at = null
                 where job_id = :job and lease_token = :token
                """).param("error", error).param("next", Timestamp.from(next)).param("job", claim.jobId())
                .param("token", claim.token()).update();
    }

    void failed(Claim claim, String error, Instant now) {
        jdbc.sql("""
                update video_archive set status = 'failed', last_error = :error, next_attempt_at = null,
                       lease_token = null, lease_expires_at = null, failed_at = :now
                 where job_id = :job and lease_token = :token
                """).param("error", error).param("now", Timestamp.from(now)).param("job", claim.jobId())
                .param("token", claim.token()).update();
    }

    /** What the archive holds for a job: its status and, once stored, where and what. */
    record Copy(String status, String storageKey, String sha256, Long bytes, String contentType, Instant storedAt,
            String lastError) {
    }

    /** The copies of these jobs, in one query (a history page shows each job's). */
    java.util.Map<UUID, Copy> ofAll(java.util.Collection<UUID> jobIds) {
        java.util.Map<UUID, Copy> copies = new java.util.HashMap<>();
        if (jobIds.isEmpty()) {
            return copies;
        }
        jdbc.sql("""
                select job_id, status, storage_key, sha256, bytes, content_type, stored_at, last_error
                  from video_archive where job_id = any(?)""").param(jobIds.toArray(UUID[]::new))
                .query((row, n) -> copies.put(row.getObject("job_id", UUID.class), copyOf(row)))
                .list();
        return copies;
    }

    Optional<Copy> of(UUID jobId) {
        return jdbc.sql("""
                select status, storage_key, sha256, bytes, content_type, stored_at, last_error
                  from video_archive where job_id = ?""").param(jobId)
                .query((row, n) -> copyOf(row))
                .optional();
    }

    /** Copies waiting (due or backing off), how long the longest-due one has waited past its due time, failures. */
    record Backlog(long pending, double oldestDueSeconds, long failedLastDay) {
    }

    Backlog backlog(Instant now) {
        return jdbc.sql("""
                select (select count(*) from video_archive where status = 'pending') as pending,
                       (select coalesce(extract(epoch from (cast(:now as timestamptz) - min(next_attempt_at))), 0) from video_archive
                         where status = 'pending' and next_attempt_at <= :now) as oldest,
                       (select count(*) from video_archive where status = 'failed'
                         and failed_at > cast(:now as timestamptz) - interval '1 day') as failed
                """).param("now", Timestamp.from(now))
                .query((row, n) -> new Backlog(row.getLong("pending"), row.getDouble("oldest"), row.getLong("failed")))
                .single();
    }

    private static Copy copyOf(java.sql.ResultSet row) throws java.sql.SQLException {
        Timestamp storedAt = row.getTimestamp("stored_at");
        return new Copy(row.getString("status"), row.getString("storage_key"), row.getString("sha256"),
                (Long) row.getObject("bytes"), row.getString("content_type"),
                storedAt == null ? null : storedAt.toInstant(), row.getString("last_error"));
    }
}
