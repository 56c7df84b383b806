package dev.falgate.callback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.standardwebhooks.Webhook;
import com.standardwebhooks.exceptions.WebhookVerificationException;
import org.junit.jupiter.api.Test;

import dev.falgate.GeneratedSecrets;
import dev.falgate.IntegrationTest;
import dev.falgate.callback.CallbackReceiver.Answer;
import tools.jackson.databind.JsonNode;

/**
 * Signed callbacks to the caller (api.md): a job's end is written to an outbox in the same transaction, delivered by
 * the worker signed per Standard Webhooks with the client's secret, retried with backoff until a 2xx, stopped by 410,
 * logged attempt by attempt, and sent again on request. Targets are checked at submit.
 */
class CallbackTest extends IntegrationTest {

    @Test
    void aCompletedJobsEventIsDeliveredAndVerifiesWithAStandardWebhooksLibrary() throws Exception {
        clock.set(Instant.now()); // the verifier checks webhook-timestamp against the real time
        String secret = rotateSecret("admin");
        String path = "/hooks/" + UUID.randomUUID();

        String id = completedJob(receiver.url(path));
        assertThat(receiver.received(path)).as("nothing is sent before the worker runs").isEmpty();
        runCallbacks();

        List<CallbackReceiver.Received> deliveries = receiver.received(path);
        assertThat(deliveries).hasSize(1);
        CallbackReceiver.Received delivery = deliveries.get(0);
        assertThatCode(() -> new Webhook(secret).verify(delivery.body(), delivery.headers())).doesNotThrowAnyException();
        assertThat(delivery.header("content-type")).startsWith("application/json");
        JsonNode event = json.readTree(delivery.body());
        assertThat(event.path("id").asString()).startsWith("evt_").isEqualTo(delivery.header("webhook-id"));
        assertThat(event.path("type").asString()).isEqualTo("job.completed");
        assertThat(event.path("created_at").asString()).isNotEmpty();
        assertThat(event.path("data").path("id").asString()).isEqualTo(id);
        assertThat(event.path("data").path("status").asString()).isEqualTo("completed");
        assertThat(event.path("data").path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(event.path("data").path("callback_url").asString()).isEqualTo(receiver.url(path));

        assertThatThrownBy(() -> new Webhook(rotateSecret("someone-else")).verify(delivery.body(), delivery.headers()))
                .as("another client's secret does not verify it").isInstanceOf(WebhookVerificationException.class);
        String tampered = delivery.body().replace("0.12", "0.00");
        assertThatThrownBy(() -> new Webhook(secret).verify(tampered, delivery.headers()))
                .isInstanceOf(WebhookVerificationException.class);

        JsonNode log = body(get("/v1/jobs/" + id + "/callbacks"));
        assertThat(log.path("events").get(0).path("status").asString()).isEqualTo("delivered");
        assertThat(log.path("events").get(0).path("id").asString()).isEqualTo(event.path("id").asString());
        assertThat(log.path("attempts")).hasSize(1);
        assertThat(log.path("attempts").get(0).path("status_code").asInt()).isEqualTo(204);
        assertThat(log.path("attempts").get(0).path("next_attempt_at").isNull()).isTrue();
    }

    @Test
    void failedAndCancelledJobsAreToldToo() {
        String failedPath = "/hooks/" + UUID.randomUUID();
        String failed = submit(validBody("[sim:fail] " + UUID.randomUUID()), receiver.url(failedPath));
        driveToEnd();
        String cancelledPath = "/hooks/" + UUID.randomUUID();
        String cancelled = submit(validBody(UUID.randomUUID().toString()), receiver.url(cancelledPath));
        assertThat(post("/v1/jobs/" + cancelled + "/cancel", "").statusCode()).isEqualTo(202);

        runCallbacks();

        assertThat(json.readTree(receiver.received(failedPath).get(0).body()).path("type").asString())
                .isEqualTo("job.failed");
        assertThat(json.readTree(receiver.received(failedPath).get(0).body()).path("data").path("id").asString())
                .isEqualTo(failed);
        assertThat(json.readTree(receiver.received(cancelledPath).get(0).body()).path("type").asString())
                .isEqualTo("job.cancelled");
    }

    @Test
    void failedDeliveriesAreRetriedWithBackoffUntilOneSucceeds() {
        String path = "/hooks/" + UUID.randomUUID();
        String id = completedJob(receiver.url(path));
        receiver.answerNext(path, Answer.status(500), Answer.status(503),
                new Answer(302, Map.of("Location", receiver.url(path + "/elsewhere")), 0, 0));

        runCallbacks();
        assertThat(receiver.received(path)).hasSize(1);
        runCallbacks();
        assertThat(receiver.received(path)).as("not again before its backoff").hasSize(1);
        for (int attempt = 2; attempt <= 4; attempt++) {
            clock.advance(Duration.ofMinutes(2));
            runCallbacks();
            assertThat(receiver.received(path)).hasSize(attempt);
        }

        assertThat(receiver.received(path + "/elsewhere")).as("redirects are not followed").isEmpty();
        List<String> ids = receiver.received(path).stream().map(r -> r.header("webhook-id")).distinct().toList();
        assertThat(ids).as("every attempt is the same event").hasSize(1);
        JsonNode log = body(get("/v1/jobs/" + id + "/callbacks"));
        assertThat(log.path("events").get(0).path("status").asString()).isEqualTo("delivered");
        assertThat(log.path("attempts").findValuesAsString("status_code"))
                .containsExactly("500", "503", "302", "204");
        JsonNode first = log.path("attempts").get(0);
        Duration backoff = Duration.between(Instant.parse(first.path("attempted_at").asString()),
                Instant.parse(first.path("next_attempt_at").asString()));
        assertThat(backoff).isBetween(Duration.ofSeconds(5), Duration.ofSeconds(6));
        clock.advance(Duration.ofDays(2));
        runCallbacks();
        assertThat(receiver.received(path)).as("delivered once is enough").hasSize(4);
    }

    @Test
    void goneStopsRetryingAndRedeliverSendsTheSameEventAgain() {
        String path = "/hooks/" + UUID.randomUUID();
        String id = completedJob(receiver.url(path));
        receiver.answerNext(path, Answer.status(410));

        runCallbacks();
        clock.advance(Duration.ofDays(2));
        runCallbacks();

        assertThat(receiver.received(path)).hasSize(1);
        assertThat(body(get("/v1/jobs/" + id + "/callbacks")).path("events").get(0).path("status").asString()).isEqualTo("gone");

        HttpResponse<String> redelivered = post("/v1/jobs/" + id + "/callbacks/redeliver", "");
        assertThat(redelivered.statusCode()).isEqualTo(202);
        assertThat(body(redelivered).path("status").asString()).isEqualTo("pending");
        runCallbacks();

        assertThat(receiver.received(path)).hasSize(2);
        assertThat(receiver.received(path).get(1).header("webhook-id"))
                .isEqualTo(receiver.received(path).get(0).header("webhook-id"));
        assertThat(receiver.received(path).get(1).body()).isEqualTo(receiver.received(path).get(0).body());
        assertThat(body(get("/v1/jobs/" + id + "/callbacks")).path("events").get(0).path("status").asString())
                .isEqualTo("delivered");
    }

    @Test
    void anEventNobodyAcceptsFailsAfterTheRetryPeriod() {
        String path = "/hooks/" + UUID.randomUUID();
        String id = completedJob(receiver.url(path));
        for (int i = 0; i < 60; i++) {
            receiver.answerNext(path, Answer.status(500));
        }

        for (int hour = 0; hour < 26; hour++) {
            runCallbacks();
            clock.advance(Duration.ofHours(1));
        }
        JsonNode log = body(get("/v1/jobs/" + id + "/callbacks"));
        assertThat(log.path("events").get(0).path("status").asString()).isEqualTo("failed");
        assertThat(log.path("events").get(0).path("last_error").asString()).isEqualTo("HTTP 500");
        assertThat(management("/actuator/prometheus").body())
                .contains("falgate_callbacks_events_total{outcome=\"failed\"}", "falgate_callbacks_backlog");
        JsonNode health = json.readTree(management("/actuator/health").body()).path("components").path("callbacks");
        assertThat(health.path("status").asString()).as("a receiver that fails is not falgate's failure").isEqualTo("UP");
        assertThat(health.path("details").path("failed_last_24h").asLong()).isPositive();

        int attempts = receiver.received(path).size();
        clock.advance(Duration.ofDays(1));
        runCallbacks();
        assertThat(receiver.received(path)).as("no attempt after it failed").hasSize(attempts);
        assertThat(attempts).as("retried, backing off to at most an hour apart").isBetween(10, 40);
    }

    @Test
    void slowOrHugeAnswersAreCutShort() {
        String slowPath = "/hooks/" + UUID.randomUUID();
        String slow = completedJob(receiver.url(slowPath));
        receiver.answerNext(slowPath, new Answer(200, Map.of(), 0, 4_000)); // the timeout is 2 s in the tests
        runCallbacks();
        JsonNode log = body(get("/v1/jobs/" + slow + "/callbacks"));
        assertThat(log.path("attempts").get(0).path("error").asString()).isEqualTo("no answer within the timeout");
        assertThat(log.path("events").get(0).path("status").asString()).isEqualTo("pending");

        String hugePath = "/hooks/" + UUID.randomUUID();
        String huge = completedJob(receiver.url(hugePath));
        receiver.answerNext(hugePath, new Answer(200, Map.of(), 50 * 1024 * 1024, 0));
        runCallbacks();
        assertThat(body(get("/v1/jobs/" + huge + "/callbacks")).path("events").get(0).path("status").asString())
                .as("a 2xx is delivered; at most 64 KiB of its body is read").isEqualTo("delivered");
    }

    @Test
    void oneCallersUnresponsiveReceiverDoesNotHoldUpAnotherCallersCallbacks() throws Exception {
        String slowpoke = "slowpoke-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(slowpoke, null, "jobs:create");
        String hanging = "/hooks/" + UUID.randomUUID();
        for (int i = 0; i < 12; i++) {
            receiver.answerNext(hanging, new Answer(204, Map.of(), 0, 2_500)); // past the 2 s timeout of the tests
            HttpResponse<String> submitted = send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(withCallback(
                            validBody(UUID.randomUUID().toString()), receiver.url(hanging)))));
            send(as(key, "/v1/jobs/" + body(submitted).path("id").asString() + "/cancel")
                    .POST(java.net.http.HttpRequest.BodyPublishers.noBody()));
        }
        String fast = "/hooks/" + UUID.randomUUID();
        String id = submit(validBody(UUID.randomUUID().toString()), receiver.url(fast));
        post("/v1/jobs/" + id + "/cancel", "");
        CallbackWorker worker = applicationContext.getBean(CallbackWorker.class);

        long started = System.nanoTime();
        worker.runOnce();
        while (receiver.received(fast).isEmpty() && System.nanoTime() - started < 5_000_000_000L) {
            Thread.sleep(20);
        }
        long waitedMs = (System.nanoTime() - started) / 1_000_000;
        int hangingAtOnce = receiver.received(hanging).size();
        worker.awaitIdle();

        assertThat(receiver.received(fast)).hasSize(1);
        assertThat(waitedMs).as("delivered while the other caller's receivers hang").isLessThan(1_500);
        assertThat(hangingAtOnce).as("one client's attempts in flight at once").isLessThanOrEqualTo(8);
        runCallbacks();
    }

    @Test
    void afterARotationBothSecretsSignForADay() throws Exception {
        clock.set(Instant.now());
        String client = "rotating-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create", "jobs:read");
        String old = rotateSecret(client);
        String path = "/hooks/" + UUID.randomUUID();
        HttpResponse<String> submitted = send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(withCallback(validBody(UUID.randomUUID().toString()),
                        receiver.url(path)))));
        String id = body(submitted).path("id").asString();
        String fresh = rotateSecret(client);
        assertThat(send(as(key, "/v1/jobs/" + id + "/cancel").POST(java.net.http.HttpRequest.BodyPublishers.noBody()))
                .statusCode()).isEqualTo(202);

        runCallbacks();

        CallbackReceiver.Received delivery = receiver.received(path).get(0);
        assertThat(delivery.header("webhook-signature").split(" ")).hasSize(2);
        new Webhook(old).verify(delivery.body(), delivery.headers());
        new Webhook(fresh).verify(delivery.body(), delivery.headers());

        clock.advance(Duration.ofHours(25));
        assertThat(post("/v1/jobs/" + id + "/callbacks/redeliver", "").statusCode()).isEqualTo(202);
        runCallbacks();
        CallbackReceiver.Received later = receiver.received(path).get(1);
        assertThat(later.header("webhook-signature").split(" ")).as("the old secret's day is over").hasSize(1);
        String body = later.body();
        long timestamp = Long.parseLong(later.header("webhook-timestamp"));
        assertThat(later.header("webhook-signature"))
                .isEqualTo(new Webhook(fresh).sign(later.header("webhook-id"), timestamp, body));
    }

    @Test
    void callbackTargetsThatReachInsideAreRefusedAtSubmit() {
        Map<String, String> refused = Map.of(
                "https://127.0.0.1/hook", "loopback",
                "https://localhost:8443/hook", "loopback",
                "https://[::1]/hook", "loopback",
                "https://10.1.2.3/hook", "private",
                "https://192.168.0.10/hook", "private",
                "https://169.254.10.20/hook", "link-local",
                "https://169.254.169.254/latest/meta-data/", "cloud-metadata",
                "https://[fd00:ec2::254]/", "cloud-metadata",
                "https://[::ffff:172.16.0.1]/hook", "private",
                "https://224.0.0.1/hook", "multicast");
        refused.forEach((url, kind) -> {
            HttpResponse<String> answer = post("/v1/jobs", withCallback(validBody(UUID.randomUUID().toString()), url));
            assertThat(answer.statusCode()).as(url).isEqualTo(400);
            assertThat(body(answer).path("errors").get(0).path("field").asString()).as(url).isEqualTo("callback_url");
            assertThat(body(answer).path("errors").get(0).path("message").asString()).as(url).contains(kind);
        });
        for (String url : List.of("http://example.com/hook", "ftp://example.com/x", "/relative", "https://u:p@example.com/",
                "https://", "https://example.com/#frag")) {
            HttpResponse<String> answer = post("/v1/jobs", withCallback(validBody(UUID.randomUUID().toString()), url));
            assertThat(answer.statusCode()).as(url).isEqualTo(400);
            assertThat(body(answer).path("errors").get(0).path("field").asString()).as(url).isEqualTo("callback_url");
        }
        assertThat(post("/v1/jobs", validBody(UUID.randomUUID().toString()).replaceFirst("\\{",
                "{\"callback_url\": 42, ")).statusCode()).isEqualTo(400);
        assertThat(fal.submissions()).as("nothing refused reached fal").isEmpty();
    }

    @Test
    void theDeliveryLogIsTheJobsOwnAndRedeliveryNeedsAnEndedJobWithACallback() {
        String path = "/hooks/" + UUID.randomUUID();
        String id = submit(validBody(UUID.randomUUID().toString()), receiver.url(path));
        assertThat(body(get("/v1/jobs/" + id + "/callbacks")).path("events")).as("not ended yet").isEmpty();
        assertThat(post("/v1/jobs/" + id + "/callbacks/redeliver", "").statusCode()).isEqualTo(409);
        String without = submitJob(UUID.randomUUID().toString());
        assertThat(post("/v1/jobs/" + without + "/cancel", "").statusCode()).isEqualTo(202);
        assertThat(post("/v1/jobs/" + without + "/callbacks/redeliver", "").statusCode()).isEqualTo(409);

        String stranger = createKey("stranger-" + UUID.randomUUID().toString().substring(0, 8), null,
                "jobs:read", "jobs:create");
        assertThat(send(as(stranger, "/v1/jobs/" + id + "/callbacks").GET()).statusCode()).isEqualTo(404);
        assertThat(send(as(stranger, "/v1/jobs/" + id + "/callbacks/redeliver")
                .POST(java.net.http.HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(404);
        String reader = createKey("reader-" + UUID.randomUUID().toString().substring(0, 8), null, "jobs:read", "ops:read");
        assertThat(send(as(reader, "/v1/jobs/" + id + "/callbacks/redeliver")
                .POST(java.net.http.HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(403);
    }

    @Test
    void secretsAreAdminOnlyAndShownOnce() {
        String reader = createKey("reader-" + UUID.randomUUID().toString().substring(0, 8), null, "jobs:read",
                "ops:read", "jobs:create");
        assertThat(send(as(reader, "/v1/clients/acme/callback-secret")
                .POST(java.net.http.HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(403);
        assertThat(post("/v1/clients/Not%20A%20Client/callback-secret", "").statusCode()).isEqualTo(400);
        HttpResponse<String> created = post("/v1/clients/acme/callback-secret", "");
        assertThat(created.statusCode()).isEqualTo(201);
        String secret = body(created).path("secret").asString();
        GeneratedSecrets.remember(secret);
        assertThat(secret).matches("whsec_[A-Za-z0-9+/]{43}=");
        assertThat(get("/v1/jobs").body()).doesNotContain(secret.substring(6));
    }

    // --- helpers -------------------------------------------------------------------------------------------

    private String rotateSecret(String client) {
        HttpResponse<String> rotated = post("/v1/clients/" + client + "/callback-secret", "");
        assertThat(rotated.statusCode()).isEqualTo(201);
        String secret = body(rotated).path("secret").asString();
        GeneratedSecrets.remember(secret);
        return secret;
    }

    private String completedJob(String callbackUrl) {
        String id = submit(validBody(UUID.randomUUID().toString()), callbackUrl);
        driveToEnd();
        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        return id;
    }

    private void driveToEnd() {
        runWorker();
        clock.advance(Duration.ofSeconds(3));
        runWorker();
        clock.advance(Duration.ofSeconds(3));
        runWorker();
    }

    private String submit(String body, String callbackUrl) {
        HttpResponse<String> answer = post("/v1/jobs", withCallback(body, callbackUrl));
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(202);
        assertThat(body(answer).path("callback_url").asString()).isEqualTo(callbackUrl);
        return body(answer).path("id").asString();
    }

    private static String withCallback(String body, String callbackUrl) {
        return body.replaceFirst("\\{", "{\"callback_url\": \"" + callbackUrl + "\", ");
    }
}
