package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator.Fault;

/** A worker whose lease lapsed while it waited for fal cannot overwrite what the lease's new holder wrote. */
class LeaseTest extends IntegrationTest {

    @Autowired
    JobProcessor processor;
    @Autowired
    WorkerSettings settings;
    @Autowired
    JobClaims claims;

    @Test
    void aLateWorkerWritesNothingOverTheNewHoldersState() throws Exception {
        String marker = UUID.randomUUID().toString();
        String id = body(post("/v1/jobs", validBody(marker))).path("id").asString();
        fal.failNextSubmits(marker, Fault.SERVER_ERROR);
        JobClaims.Claim slow = claim(id, "slow-instance");
        CompletableFuture<Void> late;
        Map<String, Object> newer;
        Instant newHolderLooked;
        try (AutoCloseable slowFal = fal.holdSubmits()) {
            late = CompletableFuture.runAsync(() -> processor.process(slow));
            while (submissionsFor(marker).isEmpty()) {
                Thread.sleep(10); // waiting for the slow instance's submit to reach fal (an event), not for time
            }
            clock.advance(settings.lease().plus(Duration.ofSeconds(1)));
            JobClaims.Claim next = claim(id, "next-instance");
            newHolderLooked = clock.instant();
            processor.process(next); // the new holder sees a submit of unknown outcome and searches fal's listing
            newer = row(id);
        }
        late.get(); // fal answers the slow instance's submit 500 only now: its retry time must not be written

        Map<String, Object> after = row(id);
        assertThat(after.get("next_attempt_at")).as("the late worker's retry time was not written")
                .isEqualTo(newer.get("next_attempt_at"));
        assertThat(((Timestamp) after.get("next_attempt_at")).toInstant()).as("the new holder searches again soon")
                .isEqualTo(newHolderLooked.plus(settings.lostSubmitSearchInterval()));
        assertThat(after.get("submit_started_at")).as("the submit's outcome is still unknown").isNotNull();
        assertThat(after.get("lease_token")).isNull();
        assertThat(fal.submissions().stream().filter(r -> r.body().contains(marker))).hasSize(1);
    }

    /**
     * Claims the job for {@code owner} with the worker's own claim ({@link JobClaims#claimDue}): made the earliest
     * due job of the table first, so the claim of one job takes this one.
     */
    private JobClaims.Claim claim(String id, String owner) {
        jdbc.sql("update job set next_attempt_at = timestamptz '1970-01-01 00:00:00+00' where id = ?::uuid").param(id)
                .update();
        Instant now = clock.instant();
        List<JobClaims.Claim> claimed = claims.claimDue(owner, 1, now, now.plus(settings.lease()));
        assertThat(claimed).extracting(JobClaims.Claim::jobId).containsExactly(UUID.fromString(id));
        return claimed.get(0);
    }

    private Map<String, Object> row(String id) {
        return jdbc.sql("select next_attempt_at, submit_started_at, lease_token from job where id = ?::uuid")
                .param(id).query().singleRow();
    }
}
