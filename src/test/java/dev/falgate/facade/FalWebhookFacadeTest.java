package dev.falgate.facade;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import dev.falgate.callback.CallbackReceiver;
import dev.falgate.callback.CallbackReceiver.Answer;
import tools.jackson.databind.JsonNode;

/**
 * {@code fal_webhook} on a fal-compatible submit is the caller's callback in fal's webhook format, signed ED25519 by
 * falgate's own key, which receivers verify exactly as fal's: with the JWKS falgate publishes.
 */
class FalWebhookFacadeTest extends IntegrationTest {

    private static final String ENDPOINT = "/fal-ai/ltx-video-v097/extend";
    /** The DER prefix of an X.509 ED25519 public key, before its 32 raw bytes (RFC 8410). */
    private static final String ED25519_X509_PREFIX = "302a300506032b6570032100";

    @Test
    void aFacadeWebhookVerifiesWithAStandardEd25519VerifierAgainstFalgatesJwks() throws Exception {
        String path = "/fal-hooks/" + UUID.randomUUID();
        String id = submit(receiver.url(path), "");
        driveToEnd();
        runCallbacks();

        CallbackReceiver.Received delivery = receiver.received(path).get(0);
        assertThat(verifiedByJwks(delivery)).as("signed by a key of /.well-known/jwks.json").isTrue();
        assertThat(delivery.header("x-fal-webhook-request-id")).isEqualTo(id);
        JsonNode body = json.readTree(delivery.body());
        assertThat(body.path("request_id").asString()).isEqualTo(id);
        assertThat(body.path("status").asString()).isEqualTo("OK");
        assertThat(body.at("/payload/video/url").asString()).isNotEmpty();
        assertThat(body.at("/payload/seed").isNumber()).isTrue();

        String tampered = delivery.body().replace("\"OK\"", "\"ERROR\"");
        assertThat(verifiedByJwks(new CallbackReceiver.Received(delivery.path(), delivery.headers(), tampered)))
                .isFalse();
    }

    @Test
    void aFailedRequestIsAnErrorWebhookAndARotatedKeyIsPublishedBeforeItSigns() throws Exception {
        HttpResponse<String> rotated = post("/v1/webhook-signing-keys", "");
        assertThat(rotated.statusCode()).isEqualTo(201);
        String newKid = body(rotated).path("kid").asString();
        JsonNode published = json.readTree(send(HttpRequest.newBuilder(gateway().resolve("/.well-known/jwks.json"))
                .GET()).body());
        assertThat(published.path("keys").findValuesAsString("kid")).as("published at once").contains(newKid);
        clock.advance(Duration.ofMinutes(61)); // receivers' cached JWKS has expired: the new key signs
        String path = "/fal-hooks/" + UUID.randomUUID();
        submit(receiver.url(path), "[sim:fail] ");
        driveToEnd();
        runCallbacks();

        CallbackReceiver.Received delivery = receiver.received(path).get(0);
        JsonNode body = json.readTree(delivery.body());
        assertThat(body.path("status").asString()).isEqualTo("ERROR");
        assertThat(body.path("error").asString()).isNotEmpty();
        assertThat(body.path("payload").has("detail")).isTrue();
        assertThat(verifiedByJwks(delivery)).isTrue();
        JsonNode jwks = json.readTree(send(HttpRequest.newBuilder(gateway().resolve("/.well-known/jwks.json")).GET()).body());
        assertThat(jwks.path("keys").size()).as("the rotated-out key stays published for a day").isGreaterThanOrEqualTo(2);
        assertThat(verifiedBy(delivery, newKid)).as("signed by the new key once it is active").isTrue();
    }

    @Test
    void undeliveredFalWebhooksAreTriedTenTimesLikeFals() {
        String path = "/fal-hooks/" + UUID.randomUUID();
        for (int i = 0; i < 20; i++) {
            receiver.answerNext(path, Answer.status(503));
        }
        String id = submit(receiver.url(path), "");
        driveToEnd();
        for (int minute = 0; minute < 240; minute++) {
            runCallbacks();
            clock.advance(Duration.ofMinutes(1));
        }

        assertThat(receiver.received(path)).hasSize(10);
        assertThat(body(get("/v1/jobs/" + id + "/callbacks")).at("/events/0/status").asString()).isEqualTo("failed");
    }

    @Test
    void theJsClientsPercentEncodedWebhookThroughTheProxyIsTheCallback() {
        String path = "/fal-hooks/" + UUID.randomUUID();
        String hook = receiver.url(path) + "?a=1&b=2";
        HttpResponse<String> submitted = send(HttpRequest.newBuilder(gateway().resolve("/fal/proxy"))
                .header("x-fal-target-url", "https://queue.fal.run" + ENDPOINT + "?fal_webhook="
                        + java.net.URLEncoder.encode(hook, StandardCharsets.UTF_8))
                .header("Authorization", "Key " + ADMIN_KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(input(""))));
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(200);
        String id = body(submitted).path("request_id").asString();
        assertThat(job(id).path("callback_url").asString()).isEqualTo(hook);
    }

    @Test
    void aFalWebhookThatReachesInsideIsFalsValidationError() {
        HttpResponse<String> refused = send(HttpRequest.newBuilder(gateway().resolve(ENDPOINT
                        + "?fal_webhook=https://169.254.169.254/latest/meta-data"))
                .header("Authorization", "Key " + ADMIN_KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(input(""))));

        assertThat(refused.statusCode()).isEqualTo(422);
        assertThat(body(refused).at("/detail/0/loc").toString()).isEqualTo("[\"query\",\"fal_webhook\"]");
        assertThat(body(refused).at("/detail/0/msg").asString()).contains("cloud-metadata");
    }

    private boolean verifiedByJwks(CallbackReceiver.Received delivery) throws Exception {
        return verifiedBy(delivery, null);
    }

    /**
     * What a receiver does: fal's message, verified with any key of falgate's JWKS (or only the one named
     * {@code kid}) by the JDK's own Ed25519.
     */
    private boolean verifiedBy(CallbackReceiver.Received delivery, String kid) throws Exception {
        JsonNode jwks = json.readTree(send(HttpRequest.newBuilder(gateway().resolve("/.well-known/jwks.json")).GET()).body());
        String message = delivery.header("x-fal-webhook-request-id") + "\n" + delivery.header("x-fal-webhook-user-id")
                + "\n" + delivery.header("x-fal-webhook-timestamp") + "\n" + HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(delivery.body().getBytes(StandardCharsets.UTF_8)));
        byte[] signature = HexFormat.of().parseHex(delivery.header("x-fal-webhook-signature"));
        for (JsonNode key : jwks.path("keys")) {
            if (kid != null && !kid.equals(key.path("kid").asString())) {
                continue;
            }
            byte[] raw = Base64.getUrlDecoder().decode(key.path("x").asString());
            PublicKey publicKey = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(
                    concat(HexFormat.of().parseHex(ED25519_X509_PREFIX), raw)));
            Signature verifier = Signature.getInstance("Ed25519");
            verifier.initVerify(publicKey);
            verifier.update(message.getBytes(StandardCharsets.UTF_8));
            if (verifier.verify(signature)) {
                return true;
            }
        }
        return false;
    }

    private static byte[] concat(byte[] first, byte[] second) {
        byte[] both = new byte[first.length + second.length];
        System.arraycopy(first, 0, both, 0, first.length);
        System.arraycopy(second, 0, both, first.length, second.length);
        return both;
    }

    private String submit(String falWebhook, String promptPrefix) {
        HttpResponse<String> submitted = send(HttpRequest.newBuilder(gateway().resolve(ENDPOINT + "?fal_webhook="
                        + java.net.URLEncoder.encode(falWebhook, StandardCharsets.UTF_8)))
                .header("Authorization", "Key " + ADMIN_KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(input(promptPrefix))));
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(200);
        return body(submitted).path("request_id").asString();
    }

    private void driveToEnd() {
        for (int i = 0; i < 3; i++) {
            runWorker();
            clock.advance(Duration.ofSeconds(3));
        }
        runWorker();
    }

    private static String input(String promptPrefix) {
        return """
                {"prompt": "%sWoman walking on a street in Tokyo %s",
                 "video": {"video_url": "https://example.com/in.mp4"}}""".formatted(promptPrefix, UUID.randomUUID());
    }
}
