package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/** Every faulty submit is answered with a problem naming the field, and none of them reaches fal. */
class SubmitValidationTest extends IntegrationTest {

    /** The prompt of every body here: no submission to fal may ever carry it. */
    private static final String PROBE = "validation-probe-" + java.util.UUID.randomUUID();
    private static final String VIDEO = "\"video\": {\"video_url\": \"https://example.com/in.mp4\"}";

    @Autowired
    JobWorker worker;

    private long jobsBefore;

    @BeforeEach
    void countJobs() {
        jobsBefore = jobCount();
    }

    @AfterEach
    void nothingStoredAndNothingReachedFal() {
        WorkerRuns.untilIdle(worker);
        assertThat(jobCount()).as("jobs stored").isEqualTo(jobsBefore);
        assertThat(fal.submissions()).as("submissions that reached fal")
                .noneMatch(submission -> submission.body().contains(PROBE));
    }

    static Stream<Arguments> invalidBodies() {
        return Stream.of(
                bad("prompt missing", "{\"input\": {" + VIDEO + "}}", "input.prompt"),
                bad("prompt blank", input("\"prompt\": \"   \""), "input.prompt"),
                bad("prompt not a string", input("\"prompt\": 42"), "input.prompt"),
                bad("prompt null", input("\"prompt\": null"), "input.prompt"),
                bad("negative_prompt not a string", input("\"prompt\": \"" + PROBE + "\", \"negative_prompt\": [\"x\"]"), "input.negative_prompt"),
                bad("resolution unknown", input("\"prompt\": \"" + PROBE + "\", \"resolution\": \"1080p\""), "input.resolution"),
                bad("resolution wrong case", input("\"prompt\": \"" + PROBE + "\", \"resolution\": \"720P\""), "input.resolution"),
                bad("aspect_ratio unknown", input("\"prompt\": \"" + PROBE + "\", \"aspect_ratio\": \"4:3\""), "input.aspect_ratio"),
                bad("seed fractional", input("\"prompt\": \"" + PROBE + "\", \"seed\": 1.5"), "input.seed"),
                bad("seed a string", input("\"prompt\": \"" + PROBE + "\", \"seed\": \"42\""), "input.seed"),
                bad("seed beyond 64 bits", input("\"prompt\": \"" + PROBE + "\", \"seed\": 123456789012345678901234567890"), "input.seed"),
                bad("steps a string", input("\"prompt\": \"" + PROBE + "\", \"num_inference_steps\": \"40\""), "input.num_inference_steps"),
                bad("steps below 2", input("\"prompt\": \"" + PROBE + "\", \"num_inference_steps\": 1"), "input.num_inference_steps"),
                bad("steps above 50", input("\"prompt\": \"" + PROBE + "\", \"num_inference_steps\": 51"), "input.num_inference_steps"),
                bad("steps written as a float", input("\"prompt\": \"" + PROBE + "\", \"num_inference_steps\": 40.0"), "input.num_inference_steps"),
                bad("expand_prompt a string", input("\"prompt\": \"" + PROBE + "\", \"expand_prompt\": \"true\""), "input.expand_prompt"),
                bad("expand_prompt a number", input("\"prompt\": \"" + PROBE + "\", \"expand_prompt\": 1"), "input.expand_prompt"),
                bad("video missing", "{\"input\": {\"prompt\": \"" + PROBE + "\"}}", "input.video"),
                bad("video a string", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": \"https://example.com/in.mp4\"}}", "input.video"),
                bad("video_url missing", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": {\"start_frame_num\": 1}}}", "input.video.video_url"),
                bad("video_url not http", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": {\"video_url\": \"ftp://example.com/a.mp4\"}}}", "input.video.video_url"),
                bad("video_url relative", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": {\"video_url\": \"/in.mp4\"}}}", "input.video.video_url"),
                bad("video_url not a URL", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": {\"video_url\": \"not a url\"}}}", "input.video.video_url"),
                bad("start_frame_num negative", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": {\"video_url\": \"https://e.com/a.mp4\", \"start_frame_num\": -1}}}", "input.video.start_frame_num"),
                bad("start_frame_num a string", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": {\"video_url\": \"https://e.com/a.mp4\", \"start_frame_num\": \"24\"}}}", "input.video.start_frame_num"),
                bad("unknown top-level field", "{\"inputs\": {}, \"input\": {\"prompt\": \"" + PROBE + "\", " + VIDEO + "}}", "inputs"),
                bad("unknown input field (typo)", input("\"promt\": \"p\", \"prompt\": \"" + PROBE + "\""), "input.promt"),
                bad("unknown video field", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": {\"url\": \"https://e.com/a.mp4\", \"video_url\": \"https://e.com/a.mp4\"}}}", "input.video.url"),
                bad("input missing", "{\"metadata\": {}}", "input"),
                bad("input not an object", "{\"input\": \"prompt\"}", "input"),
                bad("metadata not an object", "{\"input\": {\"prompt\": \"" + PROBE + "\", " + VIDEO + "}, \"metadata\": [1, 2]}", "metadata"),
                bad("metadata over 4 KiB", "{\"input\": {\"prompt\": \"" + PROBE + "\", " + VIDEO + "}, \"metadata\": {\"note\": \"" + "x".repeat(4100) + "\"}}", "metadata"),
                bad("body an array", "[]", "body"),
                bad("body malformed JSON", "{\"input\": {\"prompt\": \"" + PROBE + "\",}", "body"),
                bad("body a duplicated field", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"prompt\": \"q\", " + VIDEO + "}}", "body"),
                bad("body empty", "", "body"),
                bad("prompt with a NUL character", input("\"prompt\": \"" + PROBE + " a\\u0000b\""), "input.prompt"),
                bad("prompt with a lone surrogate", input("\"prompt\": \"" + PROBE + " \\ud800\""), "input.prompt"),
                bad("metadata value with a NUL character", "{\"input\": {\"prompt\": \"" + PROBE + "\", " + VIDEO
                        + "}, \"metadata\": {\"note\": \"a\\u0000\"}}", "metadata.note"),
                // the JSON parser itself refuses this one, so the problem names the body
                bad("metadata name with a lone surrogate", "{\"input\": {\"prompt\": \"" + PROBE + "\", " + VIDEO
                        + "}, \"metadata\": {\"\\udc00\": 1}}", "body"),
                bad("metadata name with a NUL character", "{\"input\": {\"prompt\": \"" + PROBE + "\", " + VIDEO
                        + "}, \"metadata\": {\"a\\u0000\": 1}}", "metadata"),
                bad("prompt of zero-width characters and spaces", input("\"prompt\": \"\\u200b\\u2060 \\ufeff\\u00a0\""), "input.prompt"),
                bad("prompt over 4,000 characters", input("\"prompt\": \"" + PROBE + "x".repeat(4000) + "\""), "input.prompt"),
                bad("negative_prompt over 4,000 characters", input("\"prompt\": \"" + PROBE + "\", \"negative_prompt\": \""
                        + "x".repeat(4001) + "\""), "input.negative_prompt"),
                bad("video_url over 2,048 characters", "{\"input\": {\"prompt\": \"" + PROBE + "\", \"video\": {\"video_url\": "
                        + "\"https://e.com/" + "a".repeat(2040) + ".mp4\"}}}", "input.video.video_url"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidBodies")
    void rejectsInvalidBodyNamingTheField(String why, String body, String field) {
        HttpResponse<String> response = post("/v1/jobs", body);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        JsonNode problem = body(response);
        assertThat(problem.path("type").asString()).endsWith("/validation_failed");
        assertThat(problem.path("status").asInt()).isEqualTo(400);
        assertThat(fields(problem)).contains(field);
    }

    @Test
    void listsEveryOffendingFieldAtOnce() {
        HttpResponse<String> response = post("/v1/jobs", """
                {"input": {"prompt": "", "resolution": "4k", "seed": "x", "num_inference_steps": 99,
                           "expand_prompt": "yes", "colour": "red", "video": {"video_url": "nope"}},
                 "metadata": "order"}
                """);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(fields(body(response))).containsExactlyInAnyOrder("input.prompt", "input.resolution", "input.seed",
                "input.num_inference_steps", "input.expand_prompt", "input.colour", "input.video.video_url", "metadata");
    }

    @Test
    void refusesABodyOverSixtyFourKibibytes() {
        String huge = "{\"input\": {\"prompt\": \"" + "x".repeat(70_000) + "\", " + VIDEO + "}}";

        HttpResponse<String> response = post("/v1/jobs", huge);

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(body(response).path("type").asString()).endsWith("/payload_too_large");
        assertThat(fields(body(response))).containsExactly("body");
    }

    @Test
    void refusesAChunkedBodyThatGrowsPastTheLimit() {
        byte[] huge = ("{\"input\": {\"prompt\": \"" + "x".repeat(70_000) + "\", " + VIDEO + "}}")
                .getBytes(StandardCharsets.UTF_8);

        HttpResponse<String> response = send(request("/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(huge))));

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(body(response).path("type").asString()).endsWith("/payload_too_large");
        assertThat(fields(body(response))).containsExactly("body");
    }

    @Test
    void refusesABodyThatIsNotJson() {
        HttpResponse<String> response = send(request("/v1/jobs").header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("prompt=Tokyo")));

        assertThat(response.statusCode()).isEqualTo(415);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(body(response).path("type").asString()).endsWith("/unsupported_media_type");
        assertThat(fields(body(response))).containsExactly("Content-Type");
    }

    private long jobCount() {
        return jdbc.sql("select count(*) from job").query(Long.class).single();
    }

    private static List<String> fields(JsonNode problem) {
        return problem.path("errors").valueStream().map(error -> error.path("field").asString()).toList();
    }

    private static String input(String fields) {
        return "{\"input\": {" + fields + ", " + VIDEO + "}}";
    }

    private static Arguments bad(String why, String body, String field) {
        return Arguments.of(why, body, field);
    }
}
