package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator.Fault;
import tools.jackson.databind.JsonNode;

/** What fal's refusals and failures do to a job: honest statuses, fal's detail kept, nothing charged. */
class FalFailureTest extends IntegrationTest {

    @Autowired
    JobWorker worker;

    @Test
    void requestFalRejectsOnSubmitFailsWithFalsDetailAndCostsNothing() {
        String marker = UUID.randomUUID().toString();
        String id = submit("[sim:reject] " + marker);

        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("failed");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
        assertThat(job.path("fal_request_id").isNull()).isTrue();
        assertThat(job.path("result").isNull()).isTrue();
        JsonNode error = job.path("error");
        assertThat(error.path("code").asString()).isEqualTo("fal_rejected");
        assertThat(error.path("retryable").asBoolean()).isFalse();
        assertThat(error.path("fal_status").asInt()).isEqualTo(422);
        assertThat(error.path("fal_detail").get(0).path("type").asString()).isEqualTo("file_download_error");
        assertThat(error.path("fal_detail").get(0).path("msg").asString()).isEqualTo("The video could not be downloaded.");
        assertThat(job.path("completed_at").asString()).isNotBlank();

        WorkerRuns.untilIdle(worker);
        assertThat(submissionsFor(marker)).as("a rejected request is never sent again").hasSize(1);
    }

    @Test
    void requestFalCompletesWithAnErrorFailsWithTheResultsDetailAndCostsNothing() {
        String id = submit("[sim:fail] " + UUID.randomUUID());

        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(2));
        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("failed");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
        assertThat(job.path("fal_request_id").asString()).isNotBlank();
        JsonNode error = job.path("error");
        assertThat(error.path("code").asString()).isEqualTo("file_download_error");
        assertThat(error.path("message").asString()).isEqualTo("The video could not be processed.");
        assertThat(error.path("fal_status").asInt()).isEqualTo(422);
        assertThat(error.path("fal_detail").get(0).path("loc").toString()).contains("video_url");
    }

    @Test
    void serverErrorsOnSubmitAreRetriedWithBackoffAndSubmitOnce() {
        String marker = UUID.randomUUID().toString();
        String id = submit(marker);
        fal.failNextSubmits(marker, Fault.SERVER_ERROR, Fault.UNAVAILABLE, Fault.RATE_LIMITED);

        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).isEqualTo("queued");
        WorkerRuns.untilIdle(worker);
        assertThat(submissionsFor(marker)).as("not retried before its backoff").hasSize(1);

        for (int round = 0; round < 3; round++) {
            clock.advance(Duration.ofMinutes(6));
            WorkerRuns.untilIdle(worker);
        }

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isIn("submitted", "completed");
        assertThat(job.path("attempts").asInt()).isEqualTo(4);
        assertThat(submissionsFor(marker)).hasSize(4);
    }

    @Test
    void refusedKeyKeepsTheJobQueuedAndUncharged() {
        String marker = UUID.randomUUID().toString();
        String id = submit(marker);
        fal.failNextSubmits(marker, Fault.LOCKED);

        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("queued");
        assertThat(job.path("cost_usd").isNull()).isTrue();
        clock.advance(Duration.ofMinutes(1));
        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).isEqualTo("submitted");
    }

    @Test
    void retryAfterIsHonoured() {
        String marker = UUID.randomUUID().toString();
        String id = submit(marker);
        fal.failNextSubmits(marker, Fault.SLOW_DOWN);

        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(60));
        WorkerRuns.untilIdle(worker);
        assertThat(submissionsFor(marker)).as("within fal's Retry-After of 120 s").hasSize(1);

        clock.advance(Duration.ofSeconds(61));
        WorkerRuns.untilIdle(worker);
        assertThat(submissionsFor(marker)).hasSize(2);
        assertThat(job(id).path("status").asString()).isEqualTo("submitted");
    }

    @Test
    void refusedKeyShowsInHealthAndMetricsAndFailsTheJobUnchargedAfterTheMaximumWait() {
        String marker = UUID.randomUUID().toString();
        String id = submit(marker);
        fal.failNextSubmits(marker, Fault.LOCKED, Fault.LOCKED, Fault.LOCKED);

        WorkerRuns.untilIdle(worker);
        JsonNode health = body(management("/actuator/health"));
        assertThat(health.path("status").asString()).isEqualTo("DOWN");
        assertThat(health.path("components").path("fal").path("status").asString()).isEqualTo("DOWN");
        assertThat(management("/actuator/prometheus").body())
                .contains("falgate_fal_refusing 1.0").contains("falgate_fal_refusals_total{status=\"403\"}");

        clock.advance(Duration.ofHours(11));
        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).as("still waiting for an operator").isEqualTo("queued");
        clock.advance(Duration.ofHours(1));
        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("failed");
        assertThat(job.path("error").path("code").asString()).isEqualTo("fal_unavailable");
        assertThat(job.path("error").path("fal_status").asInt()).isEqualTo(403);
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");

        submit(UUID.randomUUID().toString());
        WorkerRuns.untilIdle(worker); // fal accepts us again
        assertThat(body(management("/actuator/health")).path("components").path("fal").path("status")
                .asString()).isEqualTo("UP");
    }

    @Test
    void aRequestFalNoLongerKnowsFailsUnchargedAfterAnHour() {
        String id = submit(UUID.randomUUID().toString());
        WorkerRuns.untilIdle(worker);
        String requestId = job(id).path("fal_request_id").asString();
        jdbc.sql("update job set fal_request_id = 'gone-' || fal_request_id, fal_status_url = null, fal_response_url = null "
                + "where id = ?::uuid").param(id).update();
        jdbc.sql("update fal_request set request_id = 'gone-' || request_id where request_id = ?").param(requestId).update();

        clock.advance(Duration.ofMinutes(30));
        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).as("a 404 may be passing").isEqualTo("submitted");
        clock.advance(Duration.ofMinutes(31));
        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("failed");
        assertThat(job.path("error").path("code").asString()).isEqualTo("fal_request_lost");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
    }

    @Test
    void statusMovesForwardOnlyThroughInProgress() {
        fal.setTiming(Duration.ZERO, Duration.ofHours(1));
        String id = submit(UUID.randomUUID().toString());

        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(2));
        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("in_progress");
        assertThat(job.path("started_at").asString()).isNotBlank();
        assertThat(job.path("cost_usd").isNull()).isTrue();
    }

    private String submit(String prompt) {
        return body(post("/v1/jobs", """
                {"input": {"prompt": "%s", "video": {"video_url": "https://example.com/in.mp4"}}}
                """.formatted(prompt))).path("id").asString();
    }

}
