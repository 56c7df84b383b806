package dev.falgate.job;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
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

    /** Leases due, unleased jobs, oldest due first; a row another transaction holds is skipped. */
    private static final String CLAIM_DUE = """
            update job
               set lease_owner = :owner, lease_token = gen_random_uuid(), lease_expires_at = :until
             where id in (select id from job
                           where next_attempt_at <= :now
                             and (lease_expires_at is null or lease_expires_at <= :now)
                           order by next_attempt_at limit :limit
                           for update skip locked)
            returning id, lease_token
            """;

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

    /** Gives back every lease {@code owner} holds, so another instance can take the jobs at once. */
    int releaseAll(String owner) {
        return jdbc.sql("""
                update job set lease_owner = null, lease_token = null, lease_expires_at = null
                 where lease_owner = :owner
                """).param("owner", owner).update();
    }
}
