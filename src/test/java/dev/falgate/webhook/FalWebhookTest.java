package dev.falgate.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator;
import dev.falgate.simulator.FalSimulator.Fault;
import tools.jackson.databind.JsonNode;

/** fal's signed webhooks: verified, idempotent, and the way a lost submit answer is found again. */
class FalWebhookTest extends IntegrationTest {

    @Test
    void submitsCarryTheJobsOwnWebhookUrl() {
        String marker = UUID.randomUUID().toString();
        String id = submit(marker);
        runWorker();

        assertThat(submissionFor(marker).query()).startsWith("fal_webhook=").endsWith(id);
        assertThat(fal.webhookUrlOf(job(id).path("fal_request_id").asString()))
                .isEqualTo(PUBLIC_URL + "/fal/webhooks/" + id);
    }

    @Test
    void validDeliveryCompletesTheJobBeforeFalIsAnswered() {
        String id = submit(UUID.randomUUID().toString());
        runWorker();
        String requestId = job(id).path("fal_request_id").asString();

        // no worker run, no clock advance: the delivery's own request fetched the result
        assertThat(fal.deliverWebhook(requestId, gateway(), clock.instant())).isEqualTo(200);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("completed");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(job.path("result").path("video").path("url").asString()).startsWith("https://");
        assertThat(falCallsFor(requestId)).as("after the submit only the result: the signed OK says what status would")
                .isEqualTo(1);
        assertThat(leaseOf(id)).as("no lease left behind").isNull();
    }

    @Test
    void anErrorDeliveryAsksFalForTheErrorsDetailAndFailsTheJobUncharged() {
        String id = submit("[sim:fail] " + UUID.randomUUID());
        runWorker();
        String requestId = job(id).path("fal_request_id").asString();

        assertThat(fal.deliverWebhook(requestId, gateway(), clock.instant())).isEqualTo(200);

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("failed");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
        assertThat(job.path("error").path("fal_detail").isMissingNode()).isFalse();
        assertThat(falCallsFor(requestId)).as("status (its error type) and result (the error body)").isEqualTo(2);
    }

    @Test
    void aDeliveryTakesTheJobFromARoundInFlightWhoseWritesNoLongerCount() {
        String id = submit(UUID.randomUUID().toString());
        runWorker();
        String requestId = job(id).path("fal_request_id").asString();
        // another instance is polling the job right now (it would write "poll again in a minute")
        jdbc.sql("""
                update job set lease_owner = 'other-instance', lease_token = gen_random_uuid(),
                               lease_expires_at = ? where id = ?::uuid
                """).param(Timestamp.from(clock.instant().plusSeconds(120))).param(id).update();

        assertThat(fal.deliverWebhook(requestId, gateway(), clock.instant())).isEqualTo(200);

        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        assertThat(leaseOf(id)).as("the other instance's lease was taken; its late writes are refused").isNull();
    }

    @Test
    void aSignedDeliveryForAnUnknownJobIsAnsweredAndChangesNothing() {
        String requestId = "req-" + UUID.randomUUID();
        String unknownJob = UUID.randomUUID().toString();
        byte[] body = ("{\"request_id\":\"" + requestId + "\",\"status\":\"OK\",\"payload\":{}}")
                .getBytes(StandardCharsets.UTF_8);
        String timestamp = Long.toString(clock.instant().getEpochSecond());
        int callsBefore = fal.received().size();

        int status = fal.postWebhook(URI.create(gateway() + "/fal/webhooks/" + unknownJob), requestId, body, timestamp,
                fal.sign(requestId, timestamp, body));

        assertThat(status).as("answered, so fal stops retrying").isEqualTo(200);
        assertThat(jdbc.sql("select count(*) from job where id = ?::uuid").param(unknownJob).query(Long.class).single())
                .isZero();
        assertThat(jdbc.sql("select count(*) from fal_request where request_id = ?").param(requestId)
                .query(Long.class).single()).as("nothing booked").isZero();
        assertThat(fal.received()).as("nothing asked of fal").hasSize(callsBefore);
    }

    @Test
    void repeatedDeliveriesChangeNothing() {
        String id = submit(UUID.randomUUID().toString());
        runWorker();
        String requestId = job(id).path("fal_request_id").asString();

        for (int i = 0; i < 3; i++) {
            assertThat(fal.deliverWebhook(requestId, gateway(), clock.instant())).isEqualTo(200);
            runWorker();
        }

        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        assertThat(job(id).path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(ledgerRows(id)).hasSize(1);
    }

    @Test
    void missingBadOrStaleSignaturesAreRefused() {
        String id = submit(UUID.randomUUID().toString());
        runWorker();
        String requestId = job(id).path("fal_request_id").asString();
        URI url = URI.create(gateway() + "/fal/webhooks/" + id);
        byte[] body = ("{\"request_id\": \"" + requestId + "\", \"status\": \"OK\", \"payload\": {}}")
                .getBytes(StandardCharsets.UTF_8);
        String now = Long.toString(clock.instant().getEpochSecond());
        String stale = Long.toString(clock.instant().minus(Duration.ofMinutes(6)).getEpochSecond());
        String valid = fal.sign(requestId, now, body);
        String forged = (valid.charAt(0) == '0' ? "1" : "0") + valid.substring(1);

        assertThat(fal.postWebhook(url, null, body, null, null)).as("no headers").isEqualTo(401);
        assertThat(fal.postWebhook(url, requestId, body, now, null)).as("no signature").isEqualTo(401);
        assertThat(fal.postWebhook(url, requestId, body, now, forged)).as("bad signature").isEqualTo(401);
        assertThat(fal.postWebhook(url, requestId, "{\"tampered\": true}".getBytes(StandardCharsets.UTF_8), now, valid))
                .as("body changed after signing").isEqualTo(401);
        assertThat(fal.postWebhook(url, requestId, body, stale, fal.sign(requestId, stale, body))).as("stale")
                .isEqualTo(401);
        assertThat(fal.postWebhook(url, requestId, body, now, valid)).as("valid").isEqualTo(200);
    }

    @Test
    void aRotatedSigningKeyIsFetchedWhenItFirstAppears() {
        String id = submit(UUID.randomUUID().toString());
        runWorker();
        fal.rotateSigningKey();
        clock.advance(Duration.ofMinutes(1)); // past the minimum time between two fetches

        assertThat(fal.deliverWebhook(job(id).path("fal_request_id").asString(), gateway(), clock.instant()))
                .isEqualTo(200);
    }

    @Test
    void lostSubmitAnswerIsFoundThroughTheWebhookAndNeverSentTwice() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        String id = submit(marker);
        runWorker();
        assertThat(job(id).path("status").asString()).isEqualTo("queued");

        assertThat(fal.deliverWebhook(lostRequestOf(id), gateway(), clock.instant())).isEqualTo(200);
        runWorker();

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("completed");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(ledgerRows(id)).singleElement().satisfies(row -> assertThat(row).containsEntry("learned_via", "webhook"));
        clock.advance(Duration.ofMinutes(11));
        runWorker();
        assertThat(fal.submissions().stream().filter(r -> r.body().contains(marker))).as("never sent again").hasSize(1);
    }

    @Test
    void aDuplicateStillInFalsQueueIsCancelledFreeAndBothAreBooked() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        fal.setTiming(Duration.ofHours(1), Duration.ZERO); // the lost request waits in fal's queue
        fal.listingLag(Duration.ofHours(2)); // and fal's listing is too late to show it within the grace
        String id = submit(marker);
        runWorker();
        String lost = lostRequestOf(id);
        fal.setTiming(Duration.ZERO, Duration.ZERO);
        clock.advance(Duration.ofMinutes(11)); // no webhook within the grace: submitted again
        runWorker();

        assertThat(fal.deliverWebhook(lost, gateway(), clock.instant())).isEqualTo(200); // fal reveals the lost one
        runWorker();
        clock.advance(Duration.ofSeconds(5));
        runWorker();

        assertThat(fal.received()).anyMatch(r -> r.method().equals("PUT") && r.path().contains(lost + "/cancel"));
        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("completed");
        assertThat(job.path("cost_usd").asString()).as("the duplicate cancelled in fal's queue costs nothing")
                .isEqualTo("0.12");
        assertThat(ledgerRows(id)).hasSize(2).extracting(row -> row.get("status"))
                .containsExactlyInAnyOrder("completed", "cancelled");
    }

    @Test
    void aDuplicateFalCompletedIsBookedAsFalBillsIt() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        fal.listingLag(Duration.ofHours(2)); // fal's listing is too late to show it within the grace
        String id = submit(marker);
        runWorker();
        String lost = lostRequestOf(id);
        clock.advance(Duration.ofMinutes(11)); // the lost request completed, but its webhook is late
        runWorker();

        assertThat(fal.deliverWebhook(lost, gateway(), clock.instant())).isEqualTo(200);
        runWorker();
        clock.advance(Duration.ofSeconds(5));
        runWorker();

        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("completed");
        assertThat(job.path("cost_usd").asString()).as("fal billed both: so do our books").isEqualTo("0.24");
        assertThat(ledgerRows(id)).hasSize(2).extracting(row -> row.get("status")).containsOnly("completed");
    }

    @Test
    void aDeliveryFromAnotherFalAccountForOurJobIsRefusedOnceOurAccountIsKnown() {
        String id = submit(UUID.randomUUID().toString());
        runWorker();
        String ours = job(id).path("fal_request_id").asString();
        assertThat(fal.deliverWebhook(ours, gateway(), clock.instant())).as("our own: teaches our user id").isEqualTo(200);
        String foreign = fal.createForeignRequest(PUBLIC_URL + "/fal/webhooks/" + id);

        int status = fal.deliverForeignWebhook(foreign, gateway(), clock.instant(), "another-fal-user");

        assertThat(status).isEqualTo(401);
        assertThat(job(id).path("fal_request_id").asString()).isEqualTo(ours);
        assertThat(ledgerRows(id)).extracting(row -> row.get("request_id")).containsExactly(ours);
        assertThat(falCallsFor(foreign)).as("never asked about").isZero();
    }

    @Test
    void anotherAccountsRequestUnderOurUserIdIsConfirmedWithOurKeyAndNeverAdopted() {
        fal.setTiming(Duration.ofHours(1), Duration.ZERO);
        String id = submit(UUID.randomUUID().toString());
        runWorker();
        String ours = job(id).path("fal_request_id").asString();
        String foreign = fal.createForeignRequest(PUBLIC_URL + "/fal/webhooks/" + id);

        // correctly signed by fal, naming our user id: only a status call with our key can tell
        int status = fal.deliverForeignWebhook(foreign, gateway(), clock.instant(), FalSimulator.USER_ID);
        runWorker();
        clock.advance(Duration.ofMinutes(5));
        runWorker();

        assertThat(status).isEqualTo(200);
        JsonNode job = job(id);
        assertThat(job.path("fal_request_id").asString()).as("our own request stays the job's").isEqualTo(ours);
        assertThat(ledgerRows(id)).extracting(row -> row.get("request_id")).as("the foreign id is never booked")
                .containsExactly(ours);
        assertThat(falCallsFor(foreign)).as("one status call to check it, nothing after").isEqualTo(1);
        assertThat(fal.received()).noneMatch(r -> r.method().equals("PUT") && r.path().contains(ours));
    }

    @Test
    void aRequestFalCannotConfirmYetIsAnswered503SoFalDeliversAgain() {
        String marker = UUID.randomUUID().toString();
        fal.failNextSubmits(marker, Fault.LOSE_ANSWER);
        String id = submit(marker);
        runWorker();
        String lost = lostRequestOf(id);
        fal.answerNext(FalSimulator.Operation.STATUS, lost, FalSimulator.Canned.html(502, "<html>Bad Gateway</html>"));

        assertThat(fal.deliverWebhook(lost, gateway(), clock.instant())).isEqualTo(503);
        assertThat(ledgerRows(id)).as("not booked while unconfirmed").isEmpty();
        assertThat(fal.deliverWebhook(lost, gateway(), clock.instant())).isEqualTo(200);

        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        assertThat(ledgerRows(id)).singleElement().satisfies(row -> assertThat(row).containsEntry("learned_via", "webhook"));
    }

    /** The request fal created for the job whose answer was lost (the simulator knows it by its webhook URL). */
    private String lostRequestOf(String jobId) {
        return fal.requestIds().stream()
                .filter(r -> String.valueOf(fal.webhookUrlOf(r)).endsWith("/" + jobId))
                .findFirst().orElseThrow();
    }

    private String submit(String prompt) {
        return body(post("/v1/jobs", validBody(prompt))).path("id").asString();
    }

    private FalSimulator.Received submissionFor(String marker) {
        return fal.submissions().stream().filter(r -> r.body().contains(marker)).findFirst().orElseThrow();
    }

    private long falCallsFor(String requestId) {
        return fal.received().stream().filter(r -> r.path().contains(requestId)).count();
    }

    private String leaseOf(String id) {
        return jdbc.sql("select lease_owner from job where id = ?::uuid").param(id).query(String.class).list().get(0);
    }

    private List<Map<String, Object>> ledgerRows(String id) {
        return jdbc.sql("select * from fal_request where job_id = ?::uuid").param(id).query().listOfRows();
    }
}
