package dev.falgate.fal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.stream.Stream;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.web.reactive.function.client.WebClient;

import dev.falgate.simulator.FalSimulator;
import dev.falgate.simulator.FalSimulator.Canned;
import dev.falgate.simulator.FalSimulator.Operation;
import tools.jackson.databind.json.JsonMapper;

/**
 * docs/fal-outcomes.md, walked row by row against the fal simulator: every kind of answer to every call becomes
 * the outcome the table names. The line that matters most: only a 2xx with a request id proves a request was
 * created and only fal's own JSON error proves none was; everything else on a submit is unknown.
 */
@Timeout(60)
class FalOutcomeTableTest {

    private static final String KEY = "fal-outcome-table-key";
    private static final FalSimulator fal = FalSimulator.start(0, KEY);
    private static final FalClient client = client(fal.baseUrl());

    private static final String HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    private static final String HTML_503 = "<html><body>503 Service Temporarily Unavailable</body></html>";
    private static final String HTML_504 = "<html><body><h1>504 Gateway Time-out</h1></body></html>";
    private static final String OVERSIZED = "{\"detail\": \"" + "x".repeat(2 * 1024 * 1024) + "\"}";
    private static final String QUEUED = "{\"status\": \"IN_QUEUE\", \"request_id\": \"r\", \"queue_position\": 3}";
    private static final String VIDEO = "{\"video\": {\"url\": \"https://v3.fal.media/x.mp4\"}, \"seed\": 1}";

    @AfterAll
    static void stop() {
        fal.close();
    }

    static Stream<Arguments> submits() {
        return Stream.of(
                row("2xx with request_id", Canned.json(200, QUEUED), SubmitOutcome.Accepted.class),
                row("2xx with a queue_position beyond int", Canned.json(200,
                        "{\"status\": \"IN_QUEUE\", \"request_id\": \"r\", \"queue_position\": 99999999999}"),
                        SubmitOutcome.Accepted.class),
                row("2xx without request_id", Canned.json(200, "{\"status\": \"IN_QUEUE\"}"), SubmitOutcome.Unknown.class),
                row("2xx not JSON", Canned.of(200, "text/plain", "OK"), SubmitOutcome.Unknown.class),
                row("2xx malformed JSON", Canned.json(200, "{\"request_id\": "), SubmitOutcome.Unknown.class),
                row("3xx", Canned.of(302, "text/html", "moved").withHeader("Location", "/x"), SubmitOutcome.Unknown.class),
                row("400 fal JSON", Canned.json(400, "{\"detail\": \"bad\"}"), SubmitOutcome.Rejected.class),
                row("404 fal JSON", Canned.json(404, "{\"detail\": \"Not Found\"}"), SubmitOutcome.Rejected.class),
                row("413 fal JSON", Canned.json(413, "{\"detail\": \"too large\"}"), SubmitOutcome.Rejected.class),
                row("422 fal JSON", Canned.json(422, "{\"detail\": [{\"loc\": [\"body\"], \"msg\": \"m\", \"type\": \"t\"}]}"),
                        SubmitOutcome.Rejected.class),
                row("401 fal JSON", Canned.json(401, "{\"detail\": \"Invalid key\"}"), SubmitOutcome.Retryable.class),
                row("403 fal JSON", Canned.json(403, "{\"detail\": \"User is locked\"}"), SubmitOutcome.Retryable.class),
                row("429 fal JSON", Canned.json(429, "{\"detail\": \"Too many\"}"), SubmitOutcome.Retryable.class),
                row("500 fal JSON", Canned.json(500, "{\"detail\": \"Internal Server Error\"}"), SubmitOutcome.Retryable.class),
                row("503 fal JSON", Canned.json(503, "{\"detail\": \"Unavailable\"}"), SubmitOutcome.Retryable.class),
                row("502 HTML", Canned.html(502, HTML_502), SubmitOutcome.Unknown.class),
                row("503 HTML", Canned.html(503, HTML_503), SubmitOutcome.Unknown.class),
                row("504 HTML", Canned.html(504, HTML_504), SubmitOutcome.Unknown.class),
                row("403 HTML (a CDN's)", Canned.html(403, "<html>Forbidden</html>"), SubmitOutcome.Unknown.class),
                row("500 empty", Canned.of(500, "text/plain", ""), SubmitOutcome.Unknown.class),
                row("429 without fal's JSON", Canned.of(429, "text/plain", "slow down"), SubmitOutcome.Unknown.class),
                row("oversized body", Canned.json(200, OVERSIZED), SubmitOutcome.Unknown.class),
                row("timeout", Canned.hang(), SubmitOutcome.Unknown.class),
                row("reset", Canned.reset(), SubmitOutcome.Unknown.class));
    }

    static Stream<Arguments> statuses() {
        return Stream.of(
                row("202 IN_QUEUE", Canned.json(202, QUEUED), StatusOutcome.InQueue.class),
                row("202 IN_QUEUE, position beyond int", Canned.json(202,
                        "{\"status\": \"IN_QUEUE\", \"queue_position\": 99999999999}"), StatusOutcome.InQueue.class),
                row("202 IN_PROGRESS", Canned.json(202, "{\"status\": \"IN_PROGRESS\", \"logs\": []}"),
                        StatusOutcome.InProgress.class),
                row("200 COMPLETED", Canned.json(200, "{\"status\": \"COMPLETED\"}"), StatusOutcome.Completed.class),
                row("200 COMPLETED with error", Canned.json(200,
                        "{\"status\": \"COMPLETED\", \"error\": \"e\", \"error_type\": \"t\"}"), StatusOutcome.Completed.class),
                row("200 unknown status", Canned.json(200, "{\"status\": \"PAUSED\"}"), StatusOutcome.Unavailable.class),
                row("200 not JSON", Canned.of(200, "text/plain", "OK"), StatusOutcome.Unavailable.class),
                row("3xx", Canned.of(302, "text/html", "moved").withHeader("Location", "/x"), StatusOutcome.Unavailable.class),
                row("404 fal JSON", Canned.json(404, "{\"detail\": \"Request not found\"}"), StatusOutcome.NotFound.class),
                row("404 HTML", Canned.html(404, "<html>Not Found</html>"), StatusOutcome.Unavailable.class),
                row("401 fal JSON", Canned.json(401, "{\"detail\": \"Invalid key\"}"), StatusOutcome.Unavailable.class),
                row("403 fal JSON", Canned.json(403, "{\"detail\": \"locked\"}"), StatusOutcome.Unavailable.class),
                row("429 fal JSON", Canned.json(429, "{\"detail\": \"Too many\"}"), StatusOutcome.Unavailable.class),
                row("500 fal JSON", Canned.json(500, "{\"detail\": \"Internal Server Error\"}"), StatusOutcome.Unavailable.class),
                row("502 HTML", Canned.html(502, HTML_502), StatusOutcome.Unavailable.class),
                row("oversized body", Canned.json(200, OVERSIZED), StatusOutcome.Unavailable.class),
                row("timeout", Canned.hang(), StatusOutcome.Unavailable.class),
                row("reset", Canned.reset(), StatusOutcome.Unavailable.class));
    }

    static Stream<Arguments> results() {
        return Stream.of(
                row("200 video", Canned.json(200, VIDEO).withHeader("x-fal-billable-units", "1"), ResultOutcome.Output.class),
                row("200 not JSON", Canned.of(200, "text/plain", "OK"), ResultOutcome.Unavailable.class),
                row("3xx", Canned.of(302, "text/html", "moved").withHeader("Location", "/x"), ResultOutcome.Unavailable.class),
                row("400 still in progress", Canned.json(400, "{\"detail\": \"Request is still in progress\"}"),
                        ResultOutcome.Unavailable.class),
                row("404 fal JSON", Canned.json(404, "{\"detail\": \"Not Found\"}"), ResultOutcome.Unavailable.class),
                row("422 fal JSON (the model's error)", Canned.json(422, "{\"detail\": [{\"msg\": \"m\", \"type\": \"t\"}]}"),
                        ResultOutcome.ModelError.class),
                row("500 labelled X-Fal-Error-Type", Canned.json(500, "{\"detail\": \"crashed\"}")
                        .withHeader("X-Fal-Error-Type", "internal_error"), ResultOutcome.ModelError.class),
                row("500 fal JSON without error type", Canned.json(500, "{\"detail\": \"Internal Server Error\"}"),
                        ResultOutcome.Unavailable.class),
                row("401 fal JSON", Canned.json(401, "{\"detail\": \"Invalid key\"}"), ResultOutcome.Unavailable.class),
                row("403 fal JSON", Canned.json(403, "{\"detail\": \"locked\"}"), ResultOutcome.Unavailable.class),
                row("429 fal JSON", Canned.json(429, "{\"detail\": \"Too many\"}"), ResultOutcome.Unavailable.class),
                row("502 HTML", Canned.html(502, HTML_502), ResultOutcome.Unavailable.class),
                row("oversized body", Canned.json(200, OVERSIZED), ResultOutcome.Unavailable.class),
                row("timeout", Canned.hang(), ResultOutcome.Unavailable.class),
                row("reset", Canned.reset(), ResultOutcome.Unavailable.class));
    }

    static Stream<Arguments> cancels() {
        return Stream.of(
                row("202", Canned.json(202, "{\"status\": \"CANCELLATION_REQUESTED\"}"), CancelOutcome.REQUESTED),
                row("400 ALREADY_COMPLETED", Canned.json(400, "{\"status\": \"ALREADY_COMPLETED\"}"),
                        CancelOutcome.ALREADY_COMPLETED),
                row("404 fal JSON", Canned.json(404, "{\"detail\": \"Not Found\"}"), CancelOutcome.NOT_FOUND),
                row("404 HTML", Canned.html(404, "<html>Not Found</html>"), CancelOutcome.UNAVAILABLE),
                row("3xx", Canned.of(302, "text/html", "moved").withHeader("Location", "/x"), CancelOutcome.UNAVAILABLE),
                row("500 fal JSON", Canned.json(500, "{\"detail\": \"Internal Server Error\"}"), CancelOutcome.UNAVAILABLE),
                row("502 HTML", Canned.html(502, HTML_502), CancelOutcome.UNAVAILABLE),
                row("timeout", Canned.hang(), CancelOutcome.UNAVAILABLE),
                row("reset", Canned.reset(), CancelOutcome.UNAVAILABLE));
    }

    static Stream<Arguments> listings() {
        return Stream.of(
                row("200 items", Canned.json(200, "{\"items\": [], \"has_more\": false, \"next_cursor\": null}"),
                        ListingOutcome.Page.class),
                row("200 without items", Canned.json(200, "{\"detail\": \"?\"}"), ListingOutcome.Unavailable.class),
                row("401 fal JSON", Canned.json(401, "{\"detail\": \"Invalid key\"}"), ListingOutcome.Unavailable.class),
                row("503 HTML", Canned.html(503, HTML_503), ListingOutcome.Unavailable.class),
                row("timeout", Canned.hang(), ListingOutcome.Unavailable.class),
                row("reset", Canned.reset(), ListingOutcome.Unavailable.class));
    }

    @ParameterizedTest(name = "submit answered {0} -> {2}")
    @MethodSource("submits")
    void submit(String answer, Canned canned, Class<?> outcome) {
        String marker = UUID.randomUUID().toString();
        fal.answerNext(Operation.SUBMIT, marker, canned);

        assertThat(client.submit("{\"prompt\": \"" + marker + "\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}",
                UUID.randomUUID())).isInstanceOf(outcome);
    }

    @ParameterizedTest(name = "status answered {0} -> {2}")
    @MethodSource("statuses")
    void status(String answer, Canned canned, Class<?> outcome) {
        String requestId = UUID.randomUUID().toString();
        fal.answerNext(Operation.STATUS, requestId, canned);

        assertThat(client.status(new FalRequest(requestId, null, null, null))).isInstanceOf(outcome);
    }

    @ParameterizedTest(name = "result answered {0} -> {2}")
    @MethodSource("results")
    void result(String answer, Canned canned, Class<?> outcome) {
        String requestId = UUID.randomUUID().toString();
        fal.answerNext(Operation.RESULT, requestId, canned);

        assertThat(client.result(new FalRequest(requestId, null, null, null))).isInstanceOf(outcome);
    }

    @ParameterizedTest(name = "cancel answered {0} -> {2}")
    @MethodSource("cancels")
    void cancel(String answer, Canned canned, CancelOutcome outcome) {
        String requestId = UUID.randomUUID().toString();
        fal.answerNext(Operation.CANCEL, requestId, canned);

        assertThat(client.cancel(new FalRequest(requestId, null, null, null))).isEqualTo(outcome);
    }

    @ParameterizedTest(name = "listing answered {0} -> {2}")
    @MethodSource("listings")
    void listing(String answer, Canned canned, Class<?> outcome) {
        fal.answerNext(Operation.LISTING, "", canned);

        assertThat(client.listRequests(Instant.now().minusSeconds(60), Instant.now(), null)).isInstanceOf(outcome);
    }

    private static Arguments row(String answer, Canned canned, Object outcome) {
        return Arguments.of(answer, canned, outcome);
    }

    private static FalClient client(URI queueUrl) {
        FalSettings settings = new FalSettings(KEY, queueUrl, "fal-ai/ltx-video-v097/extend", Duration.ofSeconds(2),
                Duration.ofSeconds(1), null, fal.apiUrl(), null, null);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        return new FalClient(settings, WebClient.builder(), JsonMapper.builder().build(),
                new FalAccessMonitor(Clock.systemUTC(), meters), meters);
    }
}
