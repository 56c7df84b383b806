package dev.falgate.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.falgate.GeneratedSecrets;
import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/**
 * Sandbox keys (api.md): their jobs run on falgate's built-in fal simulator, never on fal; they cost 0.00, return a
 * real playable MP4 served by falgate, stay out of spend, budgets and spend metrics, and follow the prompt markers.
 */
class SandboxTest extends IntegrationTest {

    @Test
    void aSandboxJobNeverReachesFalCostsNothingAndPlaysARealVideo() throws Exception {
        String client = "sandbox-" + UUID.randomUUID().toString().substring(0, 8);
        String key = sandboxKey(client);
        assertThat(put("/v1/clients/" + client + "/budget", "{\"monthly_usd\": \"0.00\"}").statusCode()).isEqualTo(200);

        HttpResponse<String> submitted = submitAs(key, "Woman walking on a street in Tokyo");
        assertThat(submitted.statusCode()).as("a budget of 0.00 does not stop sandbox jobs").isEqualTo(202);
        String id = body(submitted).path("id").asString();
        assertThat(body(submitted).path("sandbox").asBoolean()).isTrue();
        JsonNode job = driveToEnd(id);

        assertThat(job.path("status").asString()).isEqualTo("completed");
        assertThat(job.path("cost_usd").asString()).isEqualTo("0.00");
        assertThat(job.at("/result/seed").isNumber()).isTrue();
        assertNeverAtFal(id);

        runArchive();
        String signed = job(id).at("/result/video/archive/signed_url").asString();
        HttpResponse<byte[]> video = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(gateway() + signed)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(video.statusCode()).isEqualTo(200);
        assertThat(new String(Arrays.copyOfRange(video.body(), 4, 8), StandardCharsets.US_ASCII))
                .as("an MP4 starts with its ftyp box").isEqualTo("ftyp");

        JsonNode spend = body(get("/v1/spend?client=" + client));
        assertThat(spend.path("jobs").asLong()).as("left out of spend").isZero();
        JsonNode sandboxSpend = body(get("/v1/spend?sandbox=true&client=" + client));
        assertThat(sandboxSpend.path("jobs").asLong()).isEqualTo(1);
        assertThat(sandboxSpend.path("total_usd").asString()).isEqualTo("0.00");
        assertThat(body(get("/v1/jobs?client=" + client)).path("data")).as("history shows them only when asked").isEmpty();
        assertThat(body(get("/v1/jobs?sandbox=true&client=" + client)).path("data")).hasSize(1);
        assertThat(body(send(as(key, "/v1/jobs").GET())).path("data")).as("a sandbox key sees its sandbox jobs")
                .hasSize(1);
        assertThat(management("/actuator/prometheus").body()).as("no spend series for the sandbox client")
                .doesNotContain("falgate_spend_usd_total{client=\"" + client + "\"}");
    }

    @Test
    void promptMarkersChooseTheOutcome() {
        String key = sandboxKey("sandbox-" + UUID.randomUUID().toString().substring(0, 8));

        String failing = body(submitAs(key, "[sandbox:fail] a street")).path("id").asString();
        JsonNode failed = driveToEnd(failing);
        assertThat(failed.path("status").asString()).isEqualTo("failed");
        assertThat(failed.at("/error/fal_status").asInt()).as("like fal's 422").isEqualTo(422);
        assertThat(failed.path("cost_usd").asString()).isEqualTo("0.00");

        String slow = body(submitAs(key, "[sandbox:slow] a street")).path("id").asString();
        for (int i = 0; i < 6; i++) {
            runWorker();
            clock.advance(Duration.ofSeconds(5));
        }
        assertThat(job(slow).path("status").asString()).as("in fal's queue for 60 s").isIn("queued", "submitted");
        assertThat(driveToEnd(slow).path("status").asString()).isEqualTo("completed");

        String lost = body(submitAs(key, "[sandbox:lost-answer] a street")).path("id").asString();
        assertThat(driveToEnd(lost).path("status").asString()).as("found again in the listing, not re-sent")
                .isEqualTo("completed");
        for (String id : java.util.List.of(failing, slow, lost)) {
            assertNeverAtFal(id);
        }
    }

    @Test
    void aSandboxKeyReachesOnlySandboxJobsAndItsIdempotencyKeysAreItsOwn() {
        String client = "sandbox-" + UUID.randomUUID().toString().substring(0, 8);
        String sandbox = sandboxKey(client);
        String real = createKey(client, null, "jobs:create", "jobs:read");
        String body = """
                {"input": {"prompt": "a street %s", "video": {"video_url": "https://example.com/in.mp4"}}}
                """.formatted(UUID.randomUUID());
        HttpResponse<String> fromSandbox = send(as(sandbox, "/v1/jobs").header("Content-Type", "application/json")
                .header("Idempotency-Key", "order-1001").POST(HttpRequest.BodyPublishers.ofString(body)));
        HttpResponse<String> fromReal = send(as(real, "/v1/jobs").header("Content-Type", "application/json")
                .header("Idempotency-Key", "order-1001").POST(HttpRequest.BodyPublishers.ofString(body)));

        assertThat(fromReal.statusCode()).as("a real key never replays a sandbox job").isEqualTo(202);
        assertThat(body(fromReal).path("sandbox").asBoolean()).isFalse();
        String realJob = body(fromReal).path("id").asString();
        assertThat(realJob).isNotEqualTo(body(fromSandbox).path("id").asString());
        assertThat(send(as(sandbox, "/v1/jobs/" + realJob).GET()).statusCode()).isEqualTo(404);
        assertThat(send(as(sandbox, "/v1/jobs/" + realJob + "/cancel").POST(HttpRequest.BodyPublishers.noBody()))
                .statusCode()).as("a sandbox key cannot stop real work").isEqualTo(404);
        assertThat(send(as(sandbox, "/v1/jobs?sandbox=false").GET()).statusCode()).isEqualTo(403);
        assertThat(job(realJob).path("status").asString()).isEqualTo("queued");
    }

    @Test
    void anotherInstancesSandboxAnswersForTheSameRequestAndTheVideoNeedsNoDownload() throws Exception {
        String key = sandboxKey("sandbox-" + UUID.randomUUID().toString().substring(0, 8));
        String id = body(submitAs(key, "a street")).path("id").asString();
        runWorker();
        String requestId = job(id).path("fal_request_id").asString();
        assertThat(requestId).isNotEmpty();

        Sandbox otherInstance = new Sandbox(org.springframework.web.reactive.function.client.WebClient.builder(), json,
                clock, jdbc);
        try {
            clock.advance(Duration.ofSeconds(10));
            dev.falgate.fal.FalRequest request = new dev.falgate.fal.FalRequest(requestId, null, null, null);
            assertThat(otherInstance.client().status(request))
                    .isInstanceOf(dev.falgate.fal.StatusOutcome.Completed.class);
            assertThat(otherInstance.client().result(request)).isInstanceOfSatisfying(
                    dev.falgate.fal.ResultOutcome.Output.class,
                    output -> assertThat(output.toString()).contains("sandbox.falgate.invalid"));
        } finally {
            otherInstance.destroy();
        }
        assertThat(driveToEnd(id).path("status").asString()).isEqualTo("completed");
        runArchive();
        assertThat(job(id).at("/result/video/archive/status").asString()).as("stored without a download")
                .isEqualTo("stored");
    }

    /** fal (the tests' simulator) never saw the job: no submit of its input, no call naming its request. */
    private void assertNeverAtFal(String id) {
        JsonNode job = job(id);
        String prompt = job.at("/input/prompt").asString();
        String requestId = job.path("fal_request_id").asString();
        assertThat(requestId).as("the sandbox's simulator created it").isNotEmpty();
        assertThat(fal.submissions()).noneMatch(submission -> submission.body().contains(prompt));
        assertThat(fal.received()).noneMatch(call -> call.path().contains(requestId));
    }

    private String sandboxKey(String client) {
        HttpResponse<String> created = post("/v1/keys", """
                {"client": "%s", "name": "sandbox", "scopes": ["jobs:create", "jobs:read"], "sandbox": true}
                """.formatted(client));
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(body(created).path("sandbox").asBoolean()).isTrue();
        String secret = body(created).path("key").asString();
        GeneratedSecrets.remember(secret);
        return secret;
    }

    private HttpResponse<String> submitAs(String key, String prompt) {
        return send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"input": {"prompt": "%s %s", "video": {"video_url": "https://example.com/in.mp4"}}}
                        """.formatted(prompt, UUID.randomUUID()))));
    }

    private HttpResponse<String> put(String path, String body) {
        return send(request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body)));
    }

    /** Moves the clock (the sandbox's simulator keeps the gateway's time) until the job ends. */
    private JsonNode driveToEnd(String id) {
        for (int i = 0; i < 40 && !isTerminal(job(id)); i++) {
            runWorker();
            clock.advance(Duration.ofSeconds(5));
        }
        runWorker();
        return job(id);
    }

    private static boolean isTerminal(JsonNode job) {
        return job.path("status").asString().matches("completed|failed|cancelled");
    }
}
