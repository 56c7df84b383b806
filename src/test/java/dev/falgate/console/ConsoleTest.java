package dev.falgate.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.springframework.core.io.ClassPathResource;

import dev.falgate.GeneratedSecrets;
import dev.falgate.IntegrationTest;
import dev.falgate.NodeTools;
import tools.jackson.databind.JsonNode;

/**
 * The ops console in a real browser (Debian's chromium, driven by playwright-core from npm): jobs seeded through the
 * API; signing in, filtering and paging the history, a job's video loading from falgate's archive, the spend chart
 * and per-client totals against {@code GET /v1/spend}, a key created and revoked; a jobs:read key sees only its
 * client and no admin pages; a revoked key is signed out; keys never appear in a URL, cookie or localStorage; axe
 * finds no serious or critical violation. Screenshots go to target/console-screenshots.
 */
class ConsoleTest extends IntegrationTest {

    private static final Path SHOTS = Path.of("target", "console-screenshots");

    @Test
    void theConsoleWorksInARealBrowser() throws Exception {
        Path tools = NodeTools.install();
        Files.createDirectories(SHOTS);
        try (var sample = new ClassPathResource("sandbox/sample.mp4").getInputStream()) {
            fal.serveSample(sample.readAllBytes()); // fal's output files are real videos a <video> can load
        }
        String client = "console-" + UUID.randomUUID().toString().substring(0, 8);
        String creator = createKey(client, null, "jobs:create", "jobs:read");
        String reader = createKey(client, null, "jobs:read");
        String doomedClient = "doomed-" + UUID.randomUUID().toString().substring(0, 8);
        String doomed = createKey(doomedClient, null, "jobs:read");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            ids.add(body(send(as(creator, "/v1/jobs").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(validBody(client + " #" + i))))).path("id").asString());
        }
        for (int round = 0; round < 3; round++) {
            runWorker();
            clock.advance(Duration.ofSeconds(3));
        }
        runArchive();
        String completed = ids.get(0);
        assertThat(job(completed).at("/result/video/archive/status").asString()).isEqualTo("stored");
        Instant completedAt = Instant.parse(job(completed).path("completed_at").asString());
        YearMonth month = YearMonth.from(completedAt.atZone(ZoneOffset.UTC));
        String live = body(send(as(creator, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody(client + " live"))))).path("id").asString();
        ids.add(live); // queued while the browser watches
        String hostile = body(send(as(creator, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"input": {"prompt": "<img src=x onerror=\\"window.__pwned=1\\"> %s",
                                   "video": {"video_url": "https://example.com/in.mp4"}},
                         "metadata": {"<script>window.__pwned=1</script>": "javascript:window.__pwned=1"}}
                        """.formatted(client))))).path("id").asString();
        ids.add(hostile);

        ProcessBuilder builder = new ProcessBuilder("node", "console-check.mjs").directory(tools.toFile())
                .redirectErrorStream(true);
        builder.environment().putAll(Map.of("BASE", gateway().toString(), "ADMIN_KEY", ADMIN_KEY, "READER_KEY", reader,
                "DOOMED_KEY", doomed, "CLIENT", client, "COMPLETED_JOB", completed, "MONTH", month.toString(),
                "SHOTS", SHOTS.toAbsolutePath().toString(), "LIVE_JOB", live));
        builder.environment().put("HOSTILE_JOB", hostile);
        Process node = builder.start();
        Map<String, List<JsonNode>> steps = new HashMap<>();
        StringBuilder output = new StringBuilder();
        OutputStream input = node.getOutputStream();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                output.append(line).append('\n');
                if (!line.startsWith("{")) {
                    continue;
                }
                JsonNode step = json.readTree(line);
                steps.computeIfAbsent(step.path("step").asString(), name -> new ArrayList<>()).add(step);
                if (step.path("step").asString().equals("live-watching")) {
                    for (int round = 0; round < 3; round++) { // the job runs while the page shows it
                        runWorker();
                        clock.advance(Duration.ofSeconds(3));
                    }
                    input.write('\n');
                    input.flush();
                }
                if (step.path("step").asString().equals("doomed-signed-in")) {
                    String keyId = keyIdOf(doomedClient);
                    assertThat(send(request("/v1/keys/" + keyId).DELETE()).statusCode()).isEqualTo(204);
                    input.write('\n');
                    input.flush();
                }
            }
        }
        input.close();
        assertThat(node.waitFor(3, TimeUnit.MINUTES)).isTrue();
        String log = output.toString();
        assertThat(steps).as(log).doesNotContainKeys("failure", "page-error");

        JsonNode headers = only(steps, "headers");
        assertThat(headers.path("csp").asString()).contains("script-src 'self'", "connect-src 'self'")
                .doesNotContain("unsafe-inline");
        assertThat(headers.path("nosniff").asString()).isEqualTo("nosniff");
        assertThat(headers.path("referrer").asString()).isEqualTo("no-referrer");
        assertThat(only(steps, "nav").path("links").toString()).isEqualTo("[\"Jobs\",\"Spend\",\"Budgets\",\"Keys\"]");

        assertThat(only(steps, "live-watching").path("before").asString()).isEqualTo("queued");
        assertThat(only(steps, "live").path("after").asString()).as("an unfinished job updates live over SSE")
                .isEqualTo("completed");
        JsonNode history = only(steps, "history");
        assertThat(history.path("first")).hasSize(25);
        assertThat(history.path("second")).hasSize(7);
        JsonNode hostilePage = only(steps, "hostile");
        assertThat(hostilePage.path("pwned").asBoolean()).as("values from the API are text, never markup").isFalse();
        assertThat(hostilePage.path("images").asInt()).isZero();
        assertThat(hostilePage.path("shownAsText").asBoolean()).isTrue();
        JsonNode skip = only(steps, "skip");
        assertThat(skip.path("hash").asString()).as("the skip link stays on the page").startsWith("#/jobs/");
        assertThat(skip.path("focused").asString()).isEqualTo("H2");
        List<String> shown = new ArrayList<>(history.path("first").valueStream().map(JsonNode::asString).toList());
        shown.addAll(history.path("second").valueStream().map(JsonNode::asString).toList());
        assertThat(shown).as("every job once, newest first").containsExactlyInAnyOrderElementsOf(ids);

        JsonNode video = only(steps, "video");
        assertThat(video.path("readyState").asInt()).as("metadata loaded from falgate's archive").isGreaterThanOrEqualTo(1);
        assertThat(video.path("duration").asDouble()).isGreaterThan(1.0);

        JsonNode spend = only(steps, "spend");
        String range = "from=" + month.atDay(1) + "&to=" + month.plusMonths(1).atDay(1);
        JsonNode byClient = body(get("/v1/spend?" + range + "&group_by=client"));
        for (JsonNode row : spend.path("byClient")) {
            JsonNode group = byClient.path("groups").valueStream()
                    .filter(g -> g.path("key").asString().equals(row.path("client").asString())).findFirst().orElseThrow();
            assertThat(row.path("total").asString()).isEqualTo(group.path("total_usd").asString());
            assertThat(row.path("jobs").asString()).isEqualTo(group.path("jobs").asString());
        }
        assertThat(spend.path("byClient").findValuesAsString("client")).contains(client);
        assertThat(spend.path("total").asString()).isEqualTo(byClient.path("total_usd").asString());
        assertThat(spend.at("/chart/total").asString()).as("the chart's bars add up to the month")
                .isEqualTo(body(get("/v1/spend?" + range + "&group_by=day")).path("total_usd").asString());
        assertThat(spend.at("/chart/days").asInt()).isEqualTo(month.lengthOfMonth());

        JsonNode keys = only(steps, "keys");
        String created = keys.path("created").asString();
        GeneratedSecrets.remember(created);
        assertThat(created).startsWith("fgk_");
        assertThat(keys.at("/storage/cookie").asString()).isEmpty();
        assertThat(keys.at("/storage/local").asInt()).isZero();
        assertThat(keys.at("/storage/session").toString()).isEqualTo("[\"falgate.key\"]");
        assertThat(send(HttpRequest.newBuilder(gateway().resolve("/v1/jobs")).header("Authorization", "Bearer " + created)
                .GET()).statusCode()).as("revoked in the console").isEqualTo(401);

        assertThat(only(steps, "phone").path("overflow").asInt()).as("no sideways scrolling at 390 px").isLessThanOrEqualTo(0);
        JsonNode readerView = only(steps, "reader");
        assertThat(readerView.path("links").toString()).as("what the key may not do is not shown").isEqualTo("[\"Jobs\"]");
        assertThat(readerView.path("clients").toString()).isEqualTo("[\"" + client + "\"]");
        assertThat(readerView.path("clientFilter").asBoolean()).isFalse();
        assertThat(only(steps, "reader-keys").path("heading").asString()).isEqualTo("Jobs");
        JsonNode revoked = only(steps, "revoked");
        assertThat(revoked.path("message").asString()).contains("revoked");
        assertThat(revoked.path("session")).isEmpty();

        for (JsonNode page : steps.get("axe")) {
            assertThat(page.path("serious")).as("axe on " + page.path("page").asString() + ": " + page).isEmpty();
        }
        assertThat(only(steps, "urls").path("urls").valueStream().map(JsonNode::asString))
                .isNotEmpty().noneMatch(url -> url.contains(ADMIN_KEY) || url.contains(reader) || url.contains(doomed)
                        || url.contains(created));
        for (String shot : List.of("jobs-1280x800.png", "job-1280x800.png", "spend-1280x800.png", "keys-1280x800.png",
                "jobs-390x844.png")) {
            assertThat(SHOTS.resolve(shot)).isNotEmptyFile();
        }
    }

    private static JsonNode only(Map<String, List<JsonNode>> steps, String name) {
        assertThat(steps).containsKey(name);
        return steps.get(name).get(0);
    }

    private String keyIdOf(String client) {
        return body(get("/v1/keys")).path("data").valueStream().filter(key -> key.path("client").asString().equals(client))
                .findFirst().orElseThrow().path("id").asString();
    }
}
