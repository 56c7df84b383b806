package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator.Canned;
import dev.falgate.simulator.FalSimulator.Fault;
import dev.falgate.simulator.FalSimulator.Operation;
import tools.jackson.databind.JsonNode;

/**
 * Every job ends, charged what fal billed: a cancel holds however the submit it raced ends; odd statuses,
 * unstorable results and silent extra requests cannot keep a job (and its budget reservation) alive; a
 * result call that fails after COMPLETED is asked again rather than ending a job fal billed at 0.00.
 */
class EveryJobEndsTest extends IntegrationTest {

    private static final String VIDEO = """
            {"video": {"url": "https://v3.fal.media/files/x/output.mp4", "content_type": "video/mp4",
                       "file_name": "output.mp4", "file_size": 1234}, "seed": 7}
            """;

    @Autowired
    JobWorker worker;

    @ParameterizedTest
    @EnumSource(value = Fault.class, names = {"SERVER_ERROR", "RATE_LIMITED", "UNAUTHORIZED", "LOCKED"})
    void aCancelAcceptedWhileASubmitIsOutHoldsWhenThatSubmitCreatedNothing(Fault fault) throws Exception {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, fault);
        String id = submitJob(marker);
        CompletableFuture<Void> round;
        try (AutoCloseable held = fal.holdSubmits()) {
            round = CompletableFuture.runAsync(() -> WorkerRuns.untilIdle(worker));
            awaitSubmissions(marker, 1);
            HttpResponse<String> cancel = send(request("/v1/jobs/" + id + "/cancel")
                    .POST(HttpRequest.BodyPublishers.noBody()));
            assertThat(cancel.statusCode()).isEqualTo(202);
        }
        round.get(20, TimeUnit.SECONDS);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("cancelled");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
        for (int i = 0; i < 3; i++) {
            clock.advance(Duration.ofMinutes(10));
            WorkerRuns.untilIdle(worker);
        }
        assertThat(submissionsFor(marker)).as("never submitted after the caller was told it is cancelled").hasSize(1);
    }

    @Test
    void aJobFalReportsAnUnknownStatusForEndsAtItsDeadlineChargedWhatFalBilled() {
        fal.setTiming(Duration.ofDays(3), Duration.ZERO);
        String id = submitJob(UUID.randomUUID().toString());
        WorkerRuns.untilIdle(worker);
        String requestId = job(id).path("fal_request_id").asString();
        Canned[] odd = new Canned[40];
        java.util.Arrays.fill(odd, Canned.json(200, "{\"status\": \"PAUSED\", \"request_id\": \"" + requestId + "\"}"));
        fal.answerNext(Operation.STATUS, requestId, odd);

        for (int hour = 0; hour < 23; hour++) {
            clock.advance(Duration.ofHours(1));
            WorkerRuns.untilIdle(worker);
        }
        assertThat(job(id).path("status").asString()).as("before its deadline").isEqualTo("submitted");
        clock.advance(Duration.ofHours(1));
        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("failed");
        assertThat(job.path("error").path("code").asString()).isEqualTo("deadline_exceeded");
        assertThat(job.path("cost_usd").asString()).as("fal billed nothing").isEqualTo("0.00");
        assertThat(job.path("completed_at").asString()).isEqualTo(job.path("deadline_at").asString());
        assertThat(fal.received()).as("the request fal still held was asked to cancel")
                .anyMatch(r -> r.method().equals("PUT") && r.path().contains(requestId + "/cancel"));
        settleEverything();
        assertThat(ledger(id)).singleElement().satisfies(row -> {
            assertThat(row.get("status")).isIn("cancelled", "unsettled");
            assertThat((BigDecimal) row.get("cost_usd")).isEqualByComparingTo("0");
        });
        assertThat(dueAt(id)).as("nothing left to do").isNull();
    }

    @Test
    void aHugeBillableUnitsHeaderIsStoredAsFalSentIt() {
        String id = submitJob(UUID.randomUUID().toString());
        WorkerRuns.untilIdle(worker);
        String requestId = job(id).path("fal_request_id").asString();
        fal.answerNext(Operation.RESULT, requestId, Canned.json(200, VIDEO).withHeader("x-fal-billable-units", "10000000"));

        clock.advance(Duration.ofSeconds(5));
        WorkerRuns.untilIdle(worker);

        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        assertThat(job(id).path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(jdbc.sql("select billable_units from job where id = ?::uuid").param(id).query(BigDecimal.class)
                .single()).isEqualByComparingTo("10000000");
    }

    @Test
    void aResultWithoutBillableUnitsIsStillAVideoFalBilled() {
        String marker = "[sim:no-units] " + UUID.randomUUID();
        String id = submitJob(marker);
        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(5));
        WorkerRuns.untilIdle(worker);

        assertThat(fal.billed(onlyRequestOf(marker))).isTrue();
        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        assertThat(job(id).path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(jdbc.sql("select billable_units from job where id = ?::uuid").param(id).query().singleRow()
                .get("billable_units")).as("not invented").isNull();
    }

    @Test
    void aFailureFalBillsIsChargedAsFalBilledIt() {
        String marker = "[sim:fail-billed] " + UUID.randomUUID();
        String id = submitJob(marker);
        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(5));
        WorkerRuns.untilIdle(worker);

        assertThat(fal.billed(onlyRequestOf(marker))).isTrue();
        assertThat(job(id).path("status").asString()).isEqualTo("failed");
        assertThat(job(id).path("cost_usd").asString()).as("the books follow fal's bill").isEqualTo("0.12");
    }

    @Test
    void aResultTheDatabaseRefusesEndsTheJobWithAClearErrorChargedAsFalBilled() {
        String id = submitJob(UUID.randomUUID().toString());
        WorkerRuns.untilIdle(worker);
        String requestId = job(id).path("fal_request_id").asString();
        fal.answerNext(Operation.RESULT, requestId, Canned.json(200, VIDEO.replace("output.mp4\"", "output\\u0000.mp4\"")));

        clock.advance(Duration.ofSeconds(5));
        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("failed");
        assertThat(job.path("error").path("code").asString()).isEqualTo("result_unstorable");
        assertThat(job.path("cost_usd").asString()).as("fal completed and billed it").isEqualTo("0.12");
        assertThat(dueAt(id)).as("not retried forever").isNull();
    }

    @Test
    void aResultCallAnsweredWithoutFalsModelErrorAfterCompletedIsAskedAgainNotFailedAtZero() {
        String id = submitJob(UUID.randomUUID().toString());
        WorkerRuns.untilIdle(worker);
        String requestId = job(id).path("fal_request_id").asString();
        fal.answerNext(Operation.RESULT, requestId,
                Canned.json(404, "{\"detail\": \"Not Found\"}"),
                Canned.of(302, "text/html", "<a href=\"/elsewhere\">moved</a>").withHeader("Location", "/elsewhere"),
                Canned.json(400, "{\"detail\": \"Request is still in progress\"}"),
                Canned.html(500, "<html>Internal Server Error</html>"));

        for (int i = 0; i < 4; i++) {
            clock.advance(Duration.ofSeconds(5));
            WorkerRuns.untilIdle(worker);
            assertThat(job(id).path("status").asString()).as("after answer %d", i + 1).isEqualTo("submitted");
        }
        clock.advance(Duration.ofSeconds(5));
        WorkerRuns.untilIdle(worker);

        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        assertThat(job(id).path("cost_usd").asString()).isEqualTo("0.12");
    }

    @Test
    void anExtraRequestThatNeverSettlesIsBookedUnsettledAfterBoundedLooks() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        fal.listingLag(Duration.ofHours(2)); // fal's listing does not show the lost request in time
        String id = submitJob(marker);
        WorkerRuns.untilIdle(worker);
        String lost = fal.requestIdsFor(marker).get(0);
        clock.advance(Duration.ofMinutes(11)); // submitted again
        WorkerRuns.untilIdle(worker);
        // fal confirms the lost request to our key once, then never answers a status call for it again
        Canned[] confirmedThenSilent = new Canned[200];
        java.util.Arrays.fill(confirmedThenSilent, Canned.html(502, "<html>Bad Gateway</html>"));
        confirmedThenSilent[0] = Canned.json(202, "{\"status\": \"IN_PROGRESS\", \"request_id\": \"" + lost + "\"}");
        fal.answerNext(Operation.STATUS, lost, confirmedThenSilent);
        assertThat(fal.deliverWebhook(lost, gateway(), clock.instant())).isEqualTo(200); // the lost one surfaces

        settleEverything();

        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        assertThat(ledger(id)).filteredOn(row -> row.get("request_id").equals(lost)).singleElement()
                .satisfies(row -> {
                    assertThat(row.get("status")).isEqualTo("unsettled");
                    assertThat((BigDecimal) row.get("cost_usd")).isEqualByComparingTo("0");
                });
        assertThat(dueAt(id)).as("no longer looked at").isNull();
        assertThat(management("/actuator/prometheus").body()).contains("falgate_fal_requests_unsettled_total");
    }

    /** Lets the worker look at what is still due, a few seconds apart, until nothing is. */
    private void settleEverything() {
        for (int i = 0; i < 80; i++) {
            clock.advance(Duration.ofSeconds(5));
            WorkerRuns.untilIdle(worker);
        }
    }

    private void awaitSubmissions(String marker, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (submissionsFor(marker).size() < count && System.nanoTime() < deadline) {
            Thread.sleep(10); // waiting for an event (the submit reaching fal), not for time to pass
        }
        assertThat(submissionsFor(marker)).hasSize(count);
    }



    private List<Map<String, Object>> ledger(String id) {
        return jdbc.sql("select request_id, status, cost_usd from fal_request where job_id = ?::uuid").param(id)
                .query().listOfRows();
    }

    private Object dueAt(String id) {
        return jdbc.sql("select next_attempt_at from job where id = ?::uuid").param(id).query().singleRow()
                .get("next_attempt_at");
    }
}
