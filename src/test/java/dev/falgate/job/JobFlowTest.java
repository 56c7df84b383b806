package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator;
import tools.jackson.databind.JsonNode;

class JobFlowTest extends IntegrationTest {

    @Autowired
    JobWorker worker;

    @Test
    void acceptsRunsAndCompletesAJobWithSeedVideoAndCost() {
        String marker = UUID.randomUUID().toString();
        HttpResponse<String> accepted = post("/v1/jobs", """
                {"input": {"prompt": "Woman walking on a street in Tokyo %s", "seed": 42,
                           "video": {"video_url": "https://example.com/in.mp4", "start_frame_num": 24}},
                 "metadata": {"order_id": "A-1001"}}
                """.formatted(marker));

        assertThat(accepted.statusCode()).isEqualTo(202);
        JsonNode job = body(accepted);
        String id = job.path("id").asString();
        assertThat(accepted.headers().firstValue("Location")).hasValue("/v1/jobs/" + id);
        assertThat(job.path("status").asString()).isEqualTo("queued");
        assertThat(job.path("client").asString()).isEqualTo("admin");
        assertThat(job.path("metadata")).isEqualTo(json.readTree("{\"order_id\": \"A-1001\"}"));
        assertThat(job.path("cost_usd").isNull()).isTrue();
        JsonNode effectiveInput = json.readTree("""
                {"prompt": "Woman walking on a street in Tokyo %s",
                 "negative_prompt": "worst quality, inconsistent motion, blurry, jittery, distorted",
                 "resolution": "720p", "aspect_ratio": "16:9", "seed": 42, "num_inference_steps": 40,
                 "expand_prompt": true,
                 "video": {"video_url": "https://example.com/in.mp4", "start_frame_num": 24}}
                """.formatted(marker));
        assertThat(job.path("input")).isEqualTo(effectiveInput);

        WorkerRuns.untilIdle(worker);
        assertThat(status(id)).isEqualTo("submitted");
        clock.advance(Duration.ofSeconds(2));
        WorkerRuns.untilIdle(worker);

        JsonNode done = body(get("/v1/jobs/" + id));
        assertThat(done.path("status").asString()).isEqualTo("completed");
        assertThat(done.path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(done.path("attempts").asInt()).isEqualTo(1);
        assertThat(done.path("error").isNull()).isTrue();
        assertThat(done.path("result").path("seed").asLong()).isEqualTo(42);
        JsonNode video = done.path("result").path("video");
        String requestId = done.path("fal_request_id").asString();
        assertThat(video.path("url").asString()).isEqualTo(
                "https://v3.fal.media/files/simulated/" + requestId + "/output.mp4");
        assertThat(video.path("content_type").asString()).isEqualTo("video/mp4");
        assertThat(video.path("file_name").asString()).isEqualTo("output.mp4");
        assertThat(video.path("file_size").asLong()).isEqualTo(1_234_567);
        for (String timestamp : List.of("created_at", "submitted_at", "started_at", "completed_at")) {
            assertThat(done.path(timestamp).asString()).as(timestamp).endsWith("Z");
        }

        List<FalSimulator.Received> submissions = submissionsFor(marker);
        assertThat(submissions).hasSize(1);
        assertThat(submissions.get(0).header("Authorization")).isEqualTo("Key " + FAL_KEY);
        assertThat(json.readTree(submissions.get(0).body())).isEqualTo(effectiveInput);

        Map<String, Object> row = jdbc.sql("select seed, video_url, billable_units, cost_usd, lease_token, "
                + "next_attempt_at from job where id = ?::uuid").param(id).query().singleRow();
        assertThat(row.get("seed")).isEqualTo(42L);
        assertThat(row.get("video_url")).isEqualTo(video.path("url").asString());
        assertThat((java.math.BigDecimal) row.get("billable_units")).as("as fal reported it").isEqualByComparingTo("1");
        assertThat(row.get("lease_token")).isNull();
        assertThat(row.get("next_attempt_at")).isNull();
    }

    @Test
    void videoUrlsOnIdnAndUnderscoreHostsAreAccepted() {
        for (String url : List.of("https://bücher.example/in.mp4", "https://media_cdn.example.com:8443/in.mp4")) {
            String body = "{\"input\": {\"prompt\": \"hosts " + UUID.randomUUID() + "\", \"video\": {\"video_url\": \""
                    + url + "\"}}}";

            HttpResponse<String> accepted = post("/v1/jobs", body);

            assertThat(accepted.statusCode()).as(url).isEqualTo(202);
            assertThat(body(accepted).path("input").path("video").path("video_url").asString()).isEqualTo(url);
        }
    }

    private String status(String id) {
        return body(get("/v1/jobs/" + id)).path("status").asString();
    }

}
