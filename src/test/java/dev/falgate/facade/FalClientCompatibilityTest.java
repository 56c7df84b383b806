package dev.falgate.facade;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import dev.falgate.NodeTools;
import tools.jackson.databind.JsonNode;

/**
 * fal's official JS client ({@code @fal-ai/client}, pinned in src/test/node/package.json) runs unchanged against
 * falgate with {@code proxyUrl} ({@code when: "always"}) and a falgate key as {@code credentials}: subscribe
 * resolves with the video and seed, the queue calls behave as against fal, bad input raises the client's own
 * {@code ValidationError}, another endpoint is refused, and fal saw one submission per job, always with our key.
 */
class FalClientCompatibilityTest extends IntegrationTest {

    @Test
    void falsOwnJsClientWorksThroughFalgateUnchanged() throws Exception {
        Path script = NodeTools.install().resolve("fal-client-check.mjs");
        String marker = UUID.randomUUID().toString();
        String key = createKey("js-client-" + marker.substring(0, 8), null, "jobs:create", "jobs:read");
        AtomicBoolean running = new AtomicBoolean(true);
        Thread falTime = new Thread(() -> { // fal's time and falgate's worker move on while the client waits
            while (running.get()) {
                runWorker();
                clock.advance(Duration.ofMillis(500));
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        falTime.start();
        Map<String, JsonNode> steps;
        try {
            steps = run(script, gateway() + "/fal/proxy", key, marker);
        } finally {
            running.set(false);
            falTime.join();
        }

        JsonNode subscribed = steps.get("subscribe");
        assertThat(subscribed.path("ok").asBoolean()).as(subscribed.toString()).isTrue();
        assertThat(subscribed.at("/result/data/video/url").asString()).isNotEmpty();
        assertThat(subscribed.at("/result/data/seed").isNumber()).isTrue();
        String subscribedId = subscribed.at("/result/requestId").asString();
        assertThat(job(subscribedId).path("status").asString()).as("a falgate job").isEqualTo("completed");

        assertThat(steps.get("submit").at("/result/status").asString()).isEqualTo("IN_QUEUE");
        assertThat(steps.get("submit-again").at("/result/request_id").asString())
                .as("the same body again within seconds is the client's retry: the same request, paid once")
                .isEqualTo(steps.get("submit").at("/result/request_id").asString());
        assertThat(steps.get("status").path("ok").asBoolean()).isTrue();
        assertThat(steps.get("status").at("/result/status").asString()).isIn("IN_QUEUE", "IN_PROGRESS", "COMPLETED");
        assertThat(steps.get("cancel").path("ok").asBoolean() || steps.get("cancel").at("/error/status").asInt() == 400)
                .as(steps.get("cancel").toString()).isTrue();

        JsonNode invalid = steps.get("invalid");
        assertThat(invalid.at("/error/validation").asBoolean()).as(invalid.toString()).isTrue();
        assertThat(invalid.at("/error/status").asInt()).isEqualTo(422);
        JsonNode other = steps.get("other-endpoint");
        assertThat(other.at("/error/api").asBoolean()).as(other.toString()).isTrue();
        assertThat(other.at("/error/status").asInt()).isEqualTo(403);
        JsonNode run = steps.get("run");
        assertThat(run.path("ok").asBoolean()).as(run.toString()).isTrue();
        assertThat(run.at("/result/data/video/url").asString()).isNotEmpty();

        List<String> jobs = jdbc.sql("select id::text from job where input->>'prompt' like ?").param("%" + marker + "%")
                .query(String.class).list();
        assertThat(jobs).as("subscribe, submit and run made a job each; the invalid one none").hasSize(3);
        // the submitted job may be cancelled before it is sent: it then never reaches fal
        long sent = jdbc.sql("select count(*) from job where input->>'prompt' like ? and attempts > 0")
                .param("%" + marker + "%").query(Long.class).single();
        assertThat(sent).isBetween(2L, 3L);
        assertThat(submissionsFor(marker)).as("fal saw exactly one submission per job sent").hasSize((int) sent)
                .allSatisfy(submission -> assertThat(submission.header("authorization")).isEqualTo("Key " + FAL_KEY));
    }

    private Map<String, JsonNode> run(Path script, String proxyUrl, String key, String marker) throws Exception {
        Process node = new ProcessBuilder("node", script.getFileName().toString(), proxyUrl, key, marker)
                .directory(script.getParent().toFile()).redirectErrorStream(true).start();
        String output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(node.waitFor(3, TimeUnit.MINUTES)).as("the client script ended:\n" + output).isTrue();
        Map<String, JsonNode> steps = new HashMap<>();
        output.lines().filter(line -> line.startsWith("{")).map(json::readTree)
                .forEach(step -> steps.put(step.path("step").asString(), step));
        assertThat(steps).as(output).containsKeys("subscribe", "submit", "submit-again", "status", "cancel", "invalid",
                "other-endpoint", "run");
        return steps;
    }
}
