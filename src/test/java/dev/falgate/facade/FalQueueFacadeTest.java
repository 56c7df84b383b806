package dev.falgate.facade;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/**
 * fal's queue protocol served by falgate from its own jobs (api.md, "fal-compatible facade"): fal's shapes and
 * statuses, fal's 422 for bad input, the caller's key (never fal's) and scopes, and a proxy that serves only the
 * queue and run targets of the one endpoint and forwards nothing.
 */
class FalQueueFacadeTest extends IntegrationTest {

    private static final String ENDPOINT = "/fal-ai/ltx-video-v097/extend";

    @Test
    void aSubmitIsAJobFollowedToItsResultInFalsShapes() {
        String marker = UUID.randomUUID().toString();
        HttpResponse<String> submitted = fal(HttpRequest.newBuilder(gateway().resolve(ENDPOINT))
                .POST(HttpRequest.BodyPublishers.ofString(input(marker))));
        assertThat(submitted.statusCode()).isEqualTo(200);
        assertThat(submitted.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        JsonNode queued = body(submitted);
        String id = queued.path("request_id").asString();
        assertThat(queued.path("status").asString()).isEqualTo("IN_QUEUE");
        assertThat(queued.path("status_url").asString()).as("under FALGATE_PUBLIC_URL")
                .isEqualTo(PUBLIC_URL + "/fal-ai/ltx-video-v097/requests/" + id + "/status");
        assertThat(job(id).path("client").asString()).as("a normal job of the caller's client").isEqualTo("admin");

        HttpResponse<String> early = fal(falGet("/fal-ai/ltx-video-v097/requests/" + id + "/status?logs=1"));
        assertThat(early.statusCode()).isEqualTo(202);
        assertThat(body(early).path("status").asString()).isEqualTo("IN_QUEUE");
        assertThat(fal(falGet("/fal-ai/ltx-video-v097/requests/" + id)).statusCode()).as("still in progress").isEqualTo(400);

        runWorker();
        clock.advance(Duration.ofSeconds(3));
        runWorker();
        clock.advance(Duration.ofSeconds(3));
        runWorker();

        HttpResponse<String> done = fal(falGet("/fal-ai/ltx-video-v097/requests/" + id + "/status"));
        assertThat(done.statusCode()).isEqualTo(200);
        assertThat(body(done).path("status").asString()).isEqualTo("COMPLETED");
        HttpResponse<String> result = fal(falGet("/fal-ai/ltx-video-v097/requests/" + id));
        assertThat(result.statusCode()).isEqualTo(200);
        assertThat(result.headers().firstValue("x-fal-request-id")).hasValue(id);
        assertThat(body(result).path("video").path("url").asString()).isNotEmpty();
        assertThat(body(result).has("seed")).isTrue();
        assertThat(fal(HttpRequest.newBuilder(gateway().resolve("/fal-ai/ltx-video-v097/requests/" + id + "/cancel"))
                .PUT(HttpRequest.BodyPublishers.noBody())).body()).contains("ALREADY_COMPLETED");

        assertThat(submissionsFor(marker)).hasSize(1);
        assertThat(submissionsFor(marker).get(0).header("authorization")).as("fal sees our key, never the caller's")
                .isEqualTo("Key " + FAL_KEY);
    }

    @Test
    void badInputIsFalsValidationErrorWithEveryFault() {
        HttpResponse<String> answer = fal(HttpRequest.newBuilder(gateway().resolve(ENDPOINT))
                .POST(HttpRequest.BodyPublishers.ofString("{\"promt\": \"x\", \"num_inference_steps\": 99}")));

        assertThat(answer.statusCode()).isEqualTo(422);
        assertThat(answer.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        JsonNode detail = body(answer).path("detail");
        assertThat(detail.findValuesAsString("msg")).hasSize(4);
        assertThat(detail.toString()).contains("[\"body\",\"promt\"]", "[\"body\",\"prompt\"]",
                "[\"body\",\"num_inference_steps\"]", "[\"body\",\"video\"]", "\"missing\"", "\"extra_forbidden\"");
    }

    @Test
    void callersNeedAFalgateKeyAndSeeOnlyTheirOwnRequests() {
        HttpResponse<String> anonymous = send(HttpRequest.newBuilder(gateway().resolve(ENDPOINT))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(input("x"))));
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        assertThat(body(anonymous).path("detail").asString()).isNotEmpty();
        HttpResponse<String> falsKey = send(HttpRequest.newBuilder(gateway().resolve(ENDPOINT))
                .header("Authorization", "Key " + FAL_KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(input("x"))));
        assertThat(falsKey.statusCode()).as("fal's own key opens nothing here").isEqualTo(401);

        String id = body(fal(HttpRequest.newBuilder(gateway().resolve(ENDPOINT))
                .POST(HttpRequest.BodyPublishers.ofString(input(UUID.randomUUID().toString()))))).path("request_id").asString();
        String other = createKey("facade-" + UUID.randomUUID().toString().substring(0, 8), null, "jobs:read", "jobs:create");
        assertThat(send(HttpRequest.newBuilder(gateway().resolve("/fal-ai/ltx-video-v097/requests/" + id + "/status"))
                .header("Authorization", "Key " + other).GET()).statusCode()).isEqualTo(404);
        String reader = createKey("facade-" + UUID.randomUUID().toString().substring(0, 8), null, "jobs:read");
        assertThat(send(HttpRequest.newBuilder(gateway().resolve(ENDPOINT)).header("Authorization", "Key " + reader)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(input("x"))))
                .statusCode()).isEqualTo(403);
    }

    @Test
    void theProxyServesOnlyTheQueueAndRunTargetsOfTheEndpointAndForwardsNothing() {
        HttpResponse<String> viaProxy = fal(proxy("https://queue.fal.run" + ENDPOINT)
                .POST(HttpRequest.BodyPublishers.ofString(input(UUID.randomUUID().toString()))));
        assertThat(viaProxy.statusCode()).isEqualTo(200);
        String id = body(viaProxy).path("request_id").asString();
        assertThat(fal(proxy("https://queue.fal.run/fal-ai/ltx-video-v097/requests/" + id + "/status?logs=1").GET())
                .statusCode()).isEqualTo(202);
        assertThat(fal(proxy("https://queue.fal.run/fal-ai/ltx-video-v097/requests/" + id + "/cancel")
                .PUT(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(202);

        int before = fal.received().size();
        for (String target : List.of("https://queue.fal.run.evil.example/fal-ai/ltx-video-v097/extend",
                "https://evil.example/queue.fal.run/fal-ai/ltx-video-v097/extend",
                "https://evil.example/?https://queue.fal.run/fal-ai/ltx-video-v097/extend",
                "http://queue.fal.run/fal-ai/ltx-video-v097/extend", "https://queue.fal.run:8443/fal-ai/ltx-video-v097/extend",
                "https://user@queue.fal.run/fal-ai/ltx-video-v097/extend", "https://queue.fal.run/fal-ai/flux/dev",
                "https://queue.fal.run/fal-ai/ltx-video-v097/extend/../../flux/dev", "https://rest.fal.ai/storage/upload",
                "https://127.0.0.1/fal-ai/ltx-video-v097/extend", "not a url", "")) {
            HttpResponse<String> refused = fal(proxy(target).POST(HttpRequest.BodyPublishers.ofString(input("x"))));
            assertThat(refused.statusCode()).as(target).isIn(400, 403);
            assertThat(refused.headers().firstValue("Content-Type")).as(target)
                    .hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        }
        assertThat(fal(proxy("https://queue.fal.run.evil.example" + ENDPOINT).POST(HttpRequest.BodyPublishers.ofString(
                input("x")))).body()).contains("queue.fal.run.evil.example");
        assertThat(fal.received()).as("nothing reached fal or anywhere else").hasSize(before);
    }

    @Test
    void aSynchronousRunThatOutlastsItsWaitIsA504FalsClientsDoNotRetry() {
        HttpResponse<String> run = fal(proxy("https://fal.run" + ENDPOINT)
                .POST(HttpRequest.BodyPublishers.ofString(input(UUID.randomUUID().toString()))));

        assertThat(run.statusCode()).as("the worker does not run here: the job cannot end").isEqualTo(504);
        assertThat(run.headers().firstValue("x-fal-request-timeout-type")).hasValue("user");
        String id = run.headers().firstValue("x-falgate-job-id").orElseThrow();
        assertThat(job(id).path("status").asString()).as("the job goes on").isEqualTo("queued");
    }

    private HttpRequest.Builder proxy(String target) {
        HttpRequest.Builder request = HttpRequest.newBuilder(gateway().resolve("/fal/proxy"));
        return target.isEmpty() ? request : request.header("x-fal-target-url", target);
    }

    private HttpRequest.Builder falGet(String path) {
        return HttpRequest.newBuilder(URI.create(gateway() + path)).GET();
    }

    /** A request as fal's clients send it: the falgate key as Authorization: Key, JSON both ways. */
    private HttpResponse<String> fal(HttpRequest.Builder request) {
        return send(request.header("Authorization", "Key " + ADMIN_KEY).header("Content-Type", "application/json")
                .header("Accept", "application/json"));
    }

    private static String input(String marker) {
        return """
                {"prompt": "Woman walking on a street in Tokyo %s",
                 "video": {"video_url": "https://example.com/in.mp4", "start_frame_num": 24}}""".formatted(marker);
    }
}
