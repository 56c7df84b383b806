package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator;
import dev.falgate.simulator.FalSimulator.Canned;
import dev.falgate.simulator.FalSimulator.Fault;
import dev.falgate.simulator.FalSimulator.Operation;
import tools.jackson.databind.JsonNode;

/**
 * The gateway as production runs it by default: {@code FALGATE_PUBLIC_URL} unset (application.yml binds it to an
 * empty string), so fal is asked for no webhook and every job is followed by polling fal's status alone; a submit
 * whose answer was lost is found only through fal's request listing. A context of its own (the property differs
 * from {@link IntegrationTest}'s), driven by hand like the other flow tests.
 */
@TestPropertySource(properties = "falgate.fal.public-url=")
class PollingPathTest extends IntegrationTest {

    @Autowired
    JobWorker worker;

    @Test
    void withoutWebhooksAJobIsFollowedByPollingAloneUntilItCompletes() {
        String marker = UUID.randomUUID().toString();
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        JsonNode submitted = job(id);
        assertThat(submitted.path("status").asString()).isEqualTo("submitted");
        String requestId = submitted.path("fal_request_id").asString();
        assertNoWebhookAskedFor(marker);
        // fal reports the request queued, then running, then (its own answer) completed: only polls can tell
        fal.answerNext(Operation.STATUS, requestId,
                Canned.json(202, "{\"status\": \"IN_QUEUE\", \"request_id\": \"" + requestId + "\", \"queue_position\": 3}"),
                Canned.json(202, "{\"status\": \"IN_PROGRESS\", \"request_id\": \"" + requestId + "\", \"logs\": []}"));

        clock.advance(Duration.ofSeconds(2));
        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).isEqualTo("submitted");
        assertThat(job(id).path("queue_position").asInt()).isEqualTo(3);
        clock.advance(Duration.ofSeconds(2));
        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).isEqualTo("in_progress");
        clock.advance(Duration.ofSeconds(2));
        WorkerRuns.untilIdle(worker);

        JsonNode done = job(id);
        assertThat(done.path("status").asString()).isEqualTo("completed");
        assertThat(done.path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(done.path("result").path("seed").isNumber()).as("seed").isTrue();
        assertThat(done.path("result").path("video").path("url").asString())
                .isEqualTo("https://v3.fal.media/files/simulated/" + requestId + "/output.mp4");
        assertThat(fal.received()).as("status polled once per step")
                .filteredOn(r -> r.method().equals("GET") && r.path().equals(requestPath(requestId) + "/status"))
                .hasSize(3);
        assertThat(fal.received()).as("result fetched once")
                .filteredOn(r -> r.method().equals("GET") && r.path().equals(requestPath(requestId)))
                .hasSize(1);
        assertThat(submissionsFor(marker)).hasSize(1);
    }

    @Test
    void withoutWebhooksALostSubmitAnswerIsFoundInFalsListingAndNeverSentAgain() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        assertThat(job(id).path("status").asString()).isEqualTo("queued");
        assertNoWebhookAskedFor(marker);
        clock.advance(Duration.ofSeconds(30)); // the next search of fal's listing is due
        WorkerRuns.untilIdle(worker);

        assertThat(job(id).path("fal_request_id").asString()).isEqualTo(onlyRequestOf(marker));
        assertThat(ledgerVia(id)).containsExactly("listing");
        for (int i = 0; i < 30; i++) { // an hour passes, polled, and no webhook ever comes
            clock.advance(Duration.ofMinutes(2));
            WorkerRuns.untilIdle(worker);
        }

        JsonNode done = job(id);
        assertThat(submissionsFor(marker)).as("never sent again").hasSize(1);
        assertThat(done.path("status").asString()).isEqualTo("completed");
        assertThat(done.path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(done.path("result").path("video").path("url").asString()).contains(onlyRequestOf(marker));
        assertThat(ledgerVia(id)).containsExactly("listing");
    }

    @Test
    void withoutWebhooksALostSubmitWhoseRequestWaitsInFalsQueueBeyondTheGraceIsStillFound() {
        fal.setTiming(Duration.ofHours(1), Duration.ZERO); // IN_QUEUE for an hour of wall time: beyond this test
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        String id = submitJob(marker);

        WorkerRuns.untilIdle(worker);
        for (int i = 0; i < 11; i++) { // past the 10 minute grace, a look every minute
            clock.advance(Duration.ofMinutes(1));
            WorkerRuns.untilIdle(worker);
        }

        JsonNode job = job(id);
        assertThat(submissionsFor(marker)).as("found while queued at fal, not re-sent").hasSize(1);
        assertNoWebhookAskedFor(marker);
        assertThat(job.path("status").asString()).isEqualTo("submitted");
        assertThat(job.path("fal_request_id").asString()).isEqualTo(onlyRequestOf(marker));
        assertThat(ledgerVia(id)).containsExactly("listing");
        assertThat(fal.received()).as("followed by polling its status")
                .anyMatch(r -> r.method().equals("GET") && r.path().equals(requestPath(onlyRequestOf(marker)) + "/status"));
    }



    /** fal's submits carry {@code fal_webhook} only when the gateway wants webhooks: none here. */
    private void assertNoWebhookAskedFor(String marker) {
        assertThat(submissionsFor(marker)).isNotEmpty().allSatisfy(submit -> assertThat(String.valueOf(submit.query()))
                .as("the submit's query asks fal for no webhook").doesNotContain("fal_webhook"));
    }

    private static String requestPath(String requestId) {
        return FalSimulator.APP + "/requests/" + requestId;
    }


}
