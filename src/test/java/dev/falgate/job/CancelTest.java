package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator;
import tools.jackson.databind.JsonNode;

/** Cancel: before fal has it, nothing reaches fal; at fal, fal is asked; what fal still completes is charged. */
class CancelTest extends IntegrationTest {

    @Autowired
    JobWorker worker;

    @Test
    void queuedJobIsCancelledAtOnceAndNeverReachesFal() {
        String marker = UUID.randomUUID().toString();
        String id = body(post("/v1/jobs", validBody(marker))).path("id").asString();

        HttpResponse<String> cancelled = cancel(id);
        WorkerRuns.untilIdle(worker);

        assertThat(cancelled.statusCode()).isEqualTo(202);
        assertThat(body(cancelled).path("status").asString()).isEqualTo("cancelled");
        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("cancelled");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
        assertThat(fal.submissions()).noneMatch(r -> r.body().contains(marker));
    }

    @Test
    void cancellingAJobAWorkerHoldsLeavesNoLeaseBehind() {
        String id = body(post("/v1/jobs", validBody(UUID.randomUUID().toString()))).path("id").asString();
        jdbc.sql("update job set lease_owner = 'an instance that died', lease_token = gen_random_uuid(), "
                + "lease_expires_at = now() + interval '2 minutes' where id = ?::uuid").param(id).update();

        cancel(id);

        assertThat(jdbc.sql("select status, lease_token from job where id = ?::uuid").param(id).query().singleRow())
                .as("the job is still there, cancelled, with no lease").containsEntry("status", "cancelled")
                .containsEntry("lease_token", null);
    }

    @Test
    void jobAtFalGetsFalsCancelAndEndsCancelledUncharged() {
        fal.setTiming(Duration.ofHours(1), Duration.ZERO);
        String id = body(post("/v1/jobs", validBody(UUID.randomUUID().toString()))).path("id").asString();
        WorkerRuns.untilIdle(worker);
        String requestId = job(id).path("fal_request_id").asString();

        HttpResponse<String> answer = cancel(id);
        WorkerRuns.untilIdle(worker);

        assertThat(answer.statusCode()).isEqualTo(202);
        assertThat(body(answer).path("cancel_requested_at").isNull()).isFalse();
        assertThat(fal.received()).anyMatch(r -> r.method().equals("PUT")
                && r.path().equals(FalSimulator.APP + "/requests/" + requestId + "/cancel"));
        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("cancelled");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
        assertThat(ledgerCost(requestId)).isEqualTo("0.000000");
    }

    @Test
    void runningJobThatFalStillCompletesIsCompletedAndCharged() {
        fal.setTiming(Duration.ZERO, Duration.ofMillis(300));
        String id = body(post("/v1/jobs", validBody(UUID.randomUUID().toString()))).path("id").asString();
        WorkerRuns.untilIdle(worker);

        cancel(id);
        clock.advance(Duration.ofSeconds(3)); // fal's request finishes running meanwhile
        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("completed");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.12");
    }

    @Test
    void runningJobWhoseCancelFalHonoursEndsCancelledUncharged() {
        fal.setTiming(Duration.ZERO, Duration.ofHours(1));
        String id = submitJob("[sim:cancel-running-takes] " + UUID.randomUUID());
        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(3));
        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).isEqualTo("in_progress");
        String requestId = job(id).path("fal_request_id").asString();

        cancel(id);
        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(3));
        WorkerRuns.untilIdle(worker);

        assertThat(fal.billed(requestId)).as("fal stopped it and bills nothing").isFalse();
        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("cancelled");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
    }

    @Test
    void finishedJobCannotBeCancelled() {
        String id = body(post("/v1/jobs", validBody(UUID.randomUUID().toString()))).path("id").asString();
        cancel(id);

        HttpResponse<String> again = cancel(id);

        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(body(again).path("type").asString()).endsWith("/conflict");
    }

    @Test
    void unknownJobCannotBeCancelled() {
        assertThat(cancel(UUID.randomUUID().toString()).statusCode()).isEqualTo(404);
    }

    private HttpResponse<String> cancel(String id) {
        return send(request("/v1/jobs/" + id + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
    }

    private String ledgerCost(String requestId) {
        return jdbc.sql("select cost_usd from fal_request where request_id = ?").param(requestId)
                .query(String.class).single();
    }
}
