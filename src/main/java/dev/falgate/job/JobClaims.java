package dev.falgate.job;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The worker's leases, in single SQL statements: claiming due jobs ({@code FOR UPDATE SKIP LOCKED}, so
 * concurrent workers and instances never claim one job twice) and giving back what a stopping
 * instance still holds. Writes after a claim check the token, see {@link Job#isLeasedWith}.
 */
@Component
class JobClaims {

    /**
     * Leases due, unleased jobs, oldest due first; a row another transaction holds is skipped. The one way work is
     * picked, for the worker's turn (every due job) and for a webhook's round (one job, {@code %s} narrowed to it).
     */
    private static final String CLAIM = """
            update job
               set lease_owner = :owner, lease_token = gen_random_uuid(), lease_expires_at = :until
             where id in (select id from job
                           where %s
                             and next_attempt_at <= :now
                             and (lease_expires_at is null or lease_expires_at <= :now)
                           order by next_attempt_at limit :limit
                           for update skip locked)
            returning id, lease_token
            """;
    private static final String CLAIM_DUE = CLAIM.formatted("true");
    private static final String CLAIM_ONE = CLAIM.formatted("id = :id");

    private static final RowMapper<Claim> CLAIMED =
            (rs, row) -> new Claim(rs.getObject("id", UUID.class), rs.getObject("lease_token", UUID.class));

    private final JdbcClient jdbc;

    JobClaims(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    record Claim(UUID jobId, UUID token) {
    }

    List<Claim> claimDue(String owner, int limit, Instant now, Instant leaseUntil) {
        return jdbc.sql(CLAIM_DUE)
                .param("owner", owner)
                .param("until", Timestamp.from(leaseUntil))
                .param("now", Timestamp.from(now))
                .param("limit", limit)
                .query(CLAIMED).list();
    }

    /** Claims the one job if it is due and nobody holds it, as {@link #claimDue} would have. */
    Optional<Claim> claim(UUID jobId, String owner, Instant now, Instant leaseUntil) {
        return jdbc.sql(CLAIM_ONE)
                .param("id", jobId)
                .param("owner", owner)
                .param("until", Timestamp.from(leaseUntil))
                .param("now", Timestamp.from(now))
                .param("limit", 1)
                .query(CLAIMED).optional();
    }

    /** Gives back every lease {@code owner} holds, so another instance can take the jobs at once. */
    int releaseAll(String owner) {
        return jdbc.sql("""
                update job set lease_owner = null, lease_token = null, lease_expires_at = null
                 where lease_owner = :owner
                """).param("owner", owner).update();
    }
}
