package dev.falgate.callback;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The {@code callback_event} outbox and its {@code callback_attempt} log. An event is written in the transaction that
 * ends its job, claimed for delivery under a lease with a token (any instance), and its outcome recorded only while
 * the lease is still the claimer's; every attempt is logged all the same.
 */
@Component
class CallbackOutbox {

    static final String PENDING = "pending";
    static final String DELIVERED = "delivered";
    static final String FAILED = "failed";
    static final String GONE = "gone";

    private final JdbcClient jdbc;
    private final TransactionTemplate tx;

    CallbackOutbox(JdbcClient jdbc, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    /** An event claimed for one delivery attempt: what to send, and the lease token its outcome must carry. */
    record Claim(String id, UUID jobId, String client, String url, String type, String format, String payload,
            int attempts, Instant giveUpAt, UUID token) {
    }

    /** What one attempt came to: the answer's status (null when none came) or the error, and how long it took. */
    record Attempt(Instant at, Integer statusCode, String error, long durationMs) {

        String summary() {
            return error != null ? error : "HTTP " + statusCode;
        }
    }

    void add(String id, UUID jobId, String client, String url, String type, String format, String payload, Instant now,
            Instant giveUpAt) {
        jdbc.sql("""
                insert into callback_event (id, job_id, client, url, type, format, payload, created_at, next_attempt_at,
                                            give_up_at)
                values (:id, :job, :client, :url, :type, :format, :payload, :now, :now, :giveUp)
                on conflict (job_id) do nothing
                """).param("id", id).param("job", jobId).param("client", client).param("url", url).param("type", type)
                .param("format", format).param("payload", payload).param("now", Timestamp.from(now))
                .param("giveUp", Timestamp.from(giveUpAt)).update();
    }

    /**
     * Due pending events nobody holds, oldest due first, at most {@code perClient} of any one client and none of the
     * {@code busy} clients'; a row another transaction holds is skipped.
     */
    List<Claim> claimDue(int limit, int perClient, String[] busy, Instant now, Instant leaseUntil) {
        return jdbc.sql("""
                update callback_event set lease_token = gen_random_uuid(), lease_expires_at = :until,
                       attempts = attempts + 1
                 where id in (select id from callback_event
                               where id in (select id from (select id, row_number() over (partition by client
                                                                                          order by next_attempt_at) as turn
                                                              from callback_event
                                                             where status = 'pending' and next_attempt_at <= :now
                                                               and (lease_expires_at is null or lease_expires_at <= :now)
                                                               and client <> all(cast(:busy as text[]))) as due
                                             where turn <= :perClient)
                                 and status = 'pending' and next_attempt_at <= :now
                                 and (lease_expires_at is null or lease_expires_at <= :now)
                               order by next_attempt_at limit :limit
                               for update skip locked)
                returning id, job_id, client, url, type, format, payload, attempts, give_up_at, lease_token
                """).param("until", Timestamp.from(leaseUntil)).param("now", Timestamp.from(now))
                .param("busy", busy).param("perClient", perClient).param("limit", limit)
                .query((row, n) -> new Claim(row.getString("id"), row.getObject("job_id", UUID.class),
                        row.getString("client"), row.getString("url"), row.getString("type"), row.getString("format"),
                        row.getString("payload"),
                        row.getInt("attempts"), row.getTimestamp("give_up_at").toInstant(),
                        row.getObject("lease_token", UUID.class)))
                .list();
    }

    /**
     * Logs the attempt and, if the lease is still the claim's, moves the event to {@code status} (due again at
     * {@code next} while pending). Returns whether the event took the outcome.
     */
    boolean record(Claim claim, Attempt attempt, String status, Instant next) {
        return Boolean.TRUE.equals(tx.execute(state -> {
            jdbc.sql("""
                    insert into callback_attempt (event_id, job_id, attempted_at, status_code, error, duration_ms,
                                                  next_attempt_at)
                    values (:event, :job, :at, :code, :error, :duration, :next)
                    """).param("event", claim.id()).param("job", claim.jobId()).param("at", Timestamp.from(attempt.at()))
                    .param("code", attempt.statusCode()).param("error", attempt.error())
                    .param("duration", (int) Math.min(Integer.MAX_VALUE, attempt.durationMs()))
                    .param("next", next == null ? null : Timestamp.from(next)).update();
            return jdbc.sql("""
                    update callback_event set status = :status, next_attempt_at = :next, last_error = :error,
                           delivered_at = case when :status = 'delivered' then cast(:at as timestamptz) else delivered_at end,
                           ended_at = case when :status = 'pending' then null else cast(:at as timestamptz) end,
                           lease_token = null, lease_expires_at = null
                     where id = :id and lease_token = :token
                    """).param("status", status).param("next", next == null ? null : Timestamp.from(next))
                    .param("error", status.equals(DELIVERED) ? null : attempt.summary())
                    .param("at", Timestamp.from(attempt.at())).param("id", claim.id()).param("token", claim.token())
                    .update() == 1;
        }));
    }

    /**
     * Makes the job's event due again now, retried afresh until {@code giveUpAt}, whatever became of it. A delivery
     * in flight loses its lease: its outcome is logged but the event is sent again. Empty when the job has none.
     */
    Optional<Event> redeliver(UUID jobId, Instant now, Instant giveUpAt, Instant falGiveUpAt) {
        return jdbc.sql("""
                update callback_event set status = 'pending', next_attempt_at = :now,
                       give_up_at = case when format = 'fal' then cast(:falGiveUp as timestamptz) else :giveUp end,
                       attempts = 0, lease_token = null, lease_expires_at = null, ended_at = null, delivered_at = null
                 where job_id = :job
                returning id, type, url, status, attempts, created_at, next_attempt_at, delivered_at, last_error
                """).param("now", Timestamp.from(now)).param("giveUp", Timestamp.from(giveUpAt))
                .param("falGiveUp", Timestamp.from(falGiveUpAt)).param("job", jobId)
                .query((row, n) -> eventOf(row)).optional();
    }

    /** A job's event as the delivery log shows it. */
    record Event(String id, String type, String url, String status, int attempts, Instant createdAt,
            Instant nextAttemptAt, Instant deliveredAt, String lastError) {
    }

    Optional<Event> eventOf(UUID jobId) {
        return jdbc.sql("""
                select id, type, url, status, attempts, created_at, next_attempt_at, delivered_at, last_error
                  from callback_event where job_id = ?""").param(jobId).query((row, n) -> eventOf(row)).optional();
    }

    /** A logged attempt. */
    record LoggedAttempt(String eventId, Instant attemptedAt, Integer statusCode, String error, long durationMs,
            Instant nextAttemptAt) {
    }

    List<LoggedAttempt> attemptsOf(UUID jobId) {
        return jdbc.sql("""
                select event_id, attempted_at, status_code, error, duration_ms, next_attempt_at
                  from callback_attempt where job_id = ? order by id""").param(jobId)
                .query((row, n) -> new LoggedAttempt(row.getString("event_id"), instant(row, "attempted_at"),
                        (Integer) row.getObject("status_code"), row.getString("error"), row.getLong("duration_ms"),
                        instant(row, "next_attempt_at")))
                .list();
    }

    /** Pending events, and how long the longest-due one has waited past its due time (seconds, 0 when none). */
    record Backlog(long pending, double oldestDueSeconds, long failedLastDay) {
    }

    Backlog backlog(Instant now) {
        return jdbc.sql("""
                select (select count(*) from callback_event where status = 'pending') as pending,
                       (select coalesce(extract(epoch from (cast(:now as timestamptz) - min(next_attempt_at))), 0) from callback_event
                         where status = 'pending' and next_attempt_at <= :now) as oldest,
                       (select count(*) from callback_event where status in ('failed', 'gone')
                         and ended_at > cast(:now as timestamptz) - interval '1 day') as failed
                """).param("now", Timestamp.from(now))
                .query((row, n) -> new Backlog(row.getLong("pending"), row.getDouble("oldest"), row.getLong("failed")))
                .single();
    }

    private static Event eventOf(ResultSet row) throws SQLException {
        return new Event(row.getString("id"), row.getString("type"), row.getString("url"), row.getString("status"),
                row.getInt("attempts"), instant(row, "created_at"), instant(row, "next_attempt_at"),
                instant(row, "delivered_at"), row.getString("last_error"));
    }

    private static Instant instant(ResultSet row, String column) throws SQLException {
        Timestamp value = row.getTimestamp(column);
        return value == null ? null : value.toInstant();
    }
}
