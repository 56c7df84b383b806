package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator.Canned;
import dev.falgate.simulator.FalSimulator.Fault;
import dev.falgate.simulator.FalSimulator.Operation;
import tools.jackson.databind.JsonNode;

/**
 * A submit whose answer was lost is found in fal's request listing, never posted again blindly: not when
 * webhooks are off or late, not when fal's queue is longer than the grace, not when the listing is down.
 */
class LostSubmitTest extends IntegrationTest {

    private static final String HTML_504 = "<html><body><h1>504 Gateway Time-out</h1></body></html>";

    @Autowired
    JobWorker worker;

    @Test
    void aLostAnswerIsFoundInFalsListingWithoutAWebhookAndNeverSentTwice() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).isEqualTo("queued");
        clock.advance(Duration.ofSeconds(30)); // no webhook comes: the listing is searched
        WorkerRuns.untilIdle(worker);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isIn("submitted", "in_progress", "completed");
        assertThat(job.path("fal_request_id").asString()).isEqualTo(onlyRequestOf(marker));
        assertThat(ledgerVia(id)).containsExactly("listing");
        for (int i = 0; i < 30; i++) { // an hour passes
            clock.advance(Duration.ofMinutes(2));
            WorkerRuns.untilIdle(worker);
        }
        assertThat(submissionsFor(marker)).as("never sent again").hasSize(1);
        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        assertThat(job(id).path("cost_usd").asString()).isEqualTo("0.12");
    }

    @Test
    void aLostAnswerWhoseRequestWaitsInFalsQueueLongerThanTheGraceIsStillFound() {
        fal.setTiming(Duration.ofHours(1), Duration.ZERO); // webhooks would come only at completion, an hour on
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofMinutes(11));
        WorkerRuns.untilIdle(worker);

        assertThat(submissionsFor(marker)).as("found while queued at fal, not re-sent").hasSize(1);
        assertThat(job(id).path("status").asString()).isEqualTo("submitted");
        assertThat(job(id).path("fal_request_id").asString()).isEqualTo(onlyRequestOf(marker));
    }

    @Test
    void aGatewayTimeoutPageAfterTheRequestLeftIsUnknownAndTheRequestIsAdopted() {
        String marker = UUID.randomUUID().toString();
        fal.answerNext(Operation.SUBMIT, marker, Canned.of(504, "text/html", HTML_504).creating());
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        assertThat(submissionsFor(marker)).as("not re-sent within seconds").hasSize(1);
        clock.advance(Duration.ofSeconds(30));
        WorkerRuns.untilIdle(worker);

        assertThat(submissionsFor(marker)).hasSize(1);
        assertThat(job(id).path("fal_request_id").asString()).isEqualTo(onlyRequestOf(marker));
    }

    @Test
    void aGatewayTimeoutPageForARequestFalNeverMadeIsSentAgainOnlyAfterTheListingAnsweredPastTheGrace() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.GATEWAY_TIMEOUT_HTML);
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        for (int i = 0; i < 9; i++) {
            clock.advance(Duration.ofMinutes(1));
            WorkerRuns.untilIdle(worker);
        }
        assertThat(submissionsFor(marker)).as("within the grace").hasSize(1);
        clock.advance(Duration.ofMinutes(2));
        WorkerRuns.untilIdle(worker);

        assertThat(submissionsFor(marker)).as("the listing answered without it after the grace").hasSize(2);
        assertThat(job(id).path("status").asString()).isEqualTo("submitted");
    }

    @Test
    void whileTheListingCannotAnswerTheJobWaitsVisiblyAndIsNeverSentAgain() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.DROP_WITHOUT_CREATING);
        fal.listingUnavailable(true);
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        for (int i = 0; i < 12; i++) { // two hours
            clock.advance(Duration.ofMinutes(10));
            WorkerRuns.untilIdle(worker);
        }

        assertThat(submissionsFor(marker)).as("never re-posted blindly").hasSize(1);
        assertThat(job(id).path("status").asString()).isEqualTo("queued");
        assertThat(management("/actuator/prometheus").body()).contains("falgate_fal_listing_failing 1.0");
        JsonNode health = body(management("/actuator/health"));
        assertThat(health.path("components").path("worker").path("status").asString()).isEqualTo("UP");

        fal.listingUnavailable(false);
        clock.advance(Duration.ofMinutes(1));
        WorkerRuns.untilIdle(worker);
        assertThat(submissionsFor(marker)).as("the listing answered without it: sent again").hasSize(2);
        assertThat(management("/actuator/prometheus").body()).contains("falgate_fal_listing_failing 0.0");
    }

    @Test
    void aListingThatShowsRequestsWithoutTheirInputsProvesNothingAndTheJobIsNotSentAgain() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.DROP_WITHOUT_CREATING);
        Canned[] withoutInputs = new Canned[40];
        java.util.Arrays.fill(withoutInputs, Canned.json(200, """
                {"items": [{"request_id": "someone-elses", "endpoint_id": "fal-ai/ltx-video-v097/extend",
                            "started_at": "%s"}], "has_more": false, "next_cursor": null}
                """.formatted(clock.instant())));
        fal.answerNext(Operation.LISTING, "", withoutInputs);
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        for (int i = 0; i < 15; i++) {
            clock.advance(Duration.ofMinutes(1));
            WorkerRuns.untilIdle(worker);
        }

        assertThat(submissionsFor(marker)).as("a request it cannot see may be the job's: not re-sent").hasSize(1);
        assertThat(job(id).path("status").asString()).isEqualTo("queued");
    }

    @Test
    void twoJobsWithTheSameInputWhoseAnswersWereLostEachAdoptTheirOwnRequest() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER, Fault.LOSE_ANSWER);
        String first = submitJob(marker);
        String second = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(30));
        WorkerRuns.untilIdle(worker);
        // searching side by side, both may pick the same request: the ledger lets one have it, the other looks again
        clock.advance(Duration.ofSeconds(5));
        WorkerRuns.untilIdle(worker);

        assertThat(submissionsFor(marker)).hasSize(2);
        assertThat(List.of(job(first).path("fal_request_id").asString(), job(second).path("fal_request_id").asString()))
                .containsExactlyInAnyOrderElementsOf(requestsOf(marker));
    }

    @Test
    void aCancelWhileTheSubmitIsLostCancelsTheAdoptedRequestAtFal() {
        fal.setTiming(Duration.ofHours(1), Duration.ZERO);
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        String id = submitJob(marker);
        WorkerRuns.untilIdle(worker);

        assertThat(send(request("/v1/jobs/" + id + "/cancel").POST(java.net.http.HttpRequest.BodyPublishers.noBody()))
                .statusCode()).isEqualTo(202);
        clock.advance(Duration.ofSeconds(30));
        WorkerRuns.untilIdle(worker);
        clock.advance(Duration.ofSeconds(5));
        WorkerRuns.untilIdle(worker);

        String requestId = onlyRequestOf(marker);
        assertThat(fal.received()).anyMatch(r -> r.method().equals("PUT") && r.path().contains(requestId + "/cancel"));
        assertThat(job(id).path("status").asString()).isEqualTo("cancelled");
        assertThat(job(id).path("cost_usd").asString()).isEqualTo("0.00");
        assertThat(submissionsFor(marker)).hasSize(1);
    }



    /** The requests fal created for submits carrying {@code marker}. */
    private List<String> requestsOf(String marker) {
        return fal.requestIdsFor(marker);
    }


}
