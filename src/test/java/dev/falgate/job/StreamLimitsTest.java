package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;

/**
 * Long responses are bounded and end when they should (api.md, "Limits and hostile input"): a key holds at most
 * FALGATE_MAX_STREAMS_PER_KEY (20) open SSE or CSV streams, a revoked key's streams end, changes are pushed, and a
 * CSV export pages through any number of jobs without skipping, repeating or failing on odd stored JSON.
 */
class StreamLimitsTest extends IntegrationTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private final List<InputStream> open = new ArrayList<>();

    @AfterEach
    void closeStreams() throws Exception {
        for (InputStream stream : open) {
            stream.close();
        }
    }

    @Test
    void aKeyHoldsAtMostTwentyStreamsAndGetsSlotsBackWhenTheyEnd() throws Exception {
        String client = "streams-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create", "jobs:read");
        String id = submitAs(key, "streams");
        for (int i = 0; i < 20; i++) {
            assertThat(firstEvent(openEvents(key, id))).contains("\"status\":\"queued\"");
        }

        HttpResponse<String> oneTooMany = send(as(key, "/v1/jobs/" + id + "/events").GET());
        assertThat(oneTooMany.statusCode()).isEqualTo(429);
        assertThat(body(oneTooMany).path("code").asString()).isEqualTo("rate_limited");
        assertThat(send(as(key, "/v1/jobs?limit=5").header("Accept", "text/csv").GET()).statusCode())
                .as("a CSV export is a stream too").isEqualTo(429);
        assertThat(send(as(key, "/v1/jobs/" + id).GET()).statusCode()).as("plain requests still work").isEqualTo(200);
        assertThat(firstEvent(openEvents(ADMIN_KEY, id))).as("another key is not affected").contains("queued");

        // the job ends: its streams close after the terminal event and give their slots back
        assertThat(send(as(key, "/v1/jobs/" + id + "/cancel").POST(java.net.http.HttpRequest.BodyPublishers.noBody()))
                .statusCode()).isEqualTo(202);
        awaitTrue("the ended streams' slots are free again",
                () -> send(as(key, "/v1/jobs?limit=5").header("Accept", "text/csv").GET()).statusCode() == 200);
    }

    @Test
    void aHeadRequestForEventsHoldsNoStream() throws Exception {
        String client = "heads-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create", "jobs:read");
        String id = submitAs(key, "heads");
        for (int i = 0; i < 25; i++) {
            HttpResponse<String> head = send(as(key, "/v1/jobs/" + id + "/events").method("HEAD",
                    java.net.http.HttpRequest.BodyPublishers.noBody()));
            assertThat(head.statusCode()).isEqualTo(200);
            assertThat(head.headers().firstValue("Content-Type")).hasValueSatisfying(
                    type -> assertThat(type).startsWith("text/event-stream"));
        }

        assertThat(firstEvent(openEvents(key, id))).as("no slot was taken by the HEADs").contains("queued");
    }

    @Test
    void revokingAKeyEndsItsOpenStreams() throws Exception {
        String client = "revoked-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create", "jobs:read");
        String id = submitAs(key, "revoke");
        BufferedReader events = openEvents(key, id);
        firstEvent(events);
        String keyId = body(get("/v1/keys")).path("data").valueStream()
                .filter(k -> k.path("client").asString().equals(client)).findFirst().orElseThrow().path("id").asString();

        assertThat(send(request("/v1/keys/" + keyId).DELETE()).statusCode()).isEqualTo(204);

        CompletableFuture<Void> ended = CompletableFuture.runAsync(() -> {
            try {
                while (events.readLine() != null) {
                    // keep-alives until the end
                }
            } catch (Exception e) {
                // a reset ends it too
            }
        });
        ended.get(10, TimeUnit.SECONDS);
        assertThat(send(as(key, "/v1/jobs/" + id + "/events").GET()).statusCode()).isEqualTo(401);
    }

    @Test
    void aChangeIsPushedToEveryStreamOfTheJob() throws Exception {
        String id = submitJob(UUID.randomUUID().toString());
        List<BufferedReader> streams = List.of(openEvents(ADMIN_KEY, id), openEvents(ADMIN_KEY, id),
                openEvents(ADMIN_KEY, id));
        for (BufferedReader stream : streams) {
            assertThat(firstEvent(stream)).contains("\"status\":\"queued\"");
        }

        runWorker(); // submitted at fal: every stream sees it (after the submit under way, attempts 1, maybe)

        for (BufferedReader stream : streams) {
            assertThat(CompletableFuture.supplyAsync(() -> eventWith(stream, "\"status\":\"submitted\""))
                    .get(10, TimeUnit.SECONDS)).contains("\"fal_request_id\":\"");
        }
    }

    @Test
    void aCsvExportPagesThroughEveryJobOnceAndSurvivesANulInStoredJson() {
        String client = "bulk-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create", "jobs:read");
        String template = submitAs(key, "bulk");
        // 1,234 jobs over three CSV pages, some sharing created_at so the keyset's tie-break on id matters
        jdbc.sql("""
                insert into job
                select (jsonb_populate_record(null::job, to_jsonb(j) || jsonb_build_object('id', gen_random_uuid(),
                        'created_at', j.created_at - (g / 3) * interval '1 millisecond', 'status', 'cancelled',
                        'completed_at', j.created_at, 'cost_usd', 0, 'next_attempt_at', null))).*
                from job j, generate_series(1, 1233) g where j.id = ?::uuid
                """).param(template).update();
        // fal's detail as fal sent it: json keeps the \\u0000 escape, which PostgreSQL's ->> cannot turn into text
        jdbc.sql("""
                update job set status = 'failed', completed_at = created_at, cost_usd = 0, next_attempt_at = null,
                       error = '{"code": "fal_error", "message": "fal refused the input", "retryable": false,
                                "fal_status": 422, "fal_detail": {"msg": "bad\\u0000byte"}, "fal_error_type": null}'::json
                where id = ?::uuid""").param(template).update();

        HttpResponse<String> csv = send(as(key, "/v1/jobs").header("Accept", "text/csv").GET());

        assertThat(csv.statusCode()).as(csv.body()).isEqualTo(200);
        List<String> rows = List.of(csv.body().split("\r\n")).subList(1, 1235);
        List<String> ids = rows.stream().map(row -> row.substring(0, row.indexOf(','))).toList();
        assertThat(ids).doesNotHaveDuplicates().hasSize(1234);
        assertThat(csv.body().split("\r\n")).hasSize(1235);
        assertThat(rows.stream().filter(row -> row.startsWith(template)).findFirst().orElseThrow())
                .endsWith(",fal_error");
        assertThat(body(get("/v1/jobs/" + template)).path("error").path("code").asString()).isEqualTo("fal_error");
        List<String> limited = List.of(send(as(key, "/v1/jobs?limit=150").header("Accept", "text/csv").GET()).body()
                .split("\r\n"));
        assertThat(limited).hasSize(151);
    }

    // --- streams ------------------------------------------------------------------------------------

    private String submitAs(String key, String marker) {
        return body(send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(validBody(marker))))).path("id").asString();
    }

    private BufferedReader openEvents(String key, String id) throws Exception {
        HttpResponse<InputStream> response = http.send(as(key, "/v1/jobs/" + id + "/events")
                .header("Accept", "text/event-stream").GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        open.add(response.body());
        return new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
    }

    private static String firstEvent(BufferedReader stream) throws Exception {
        String line;
        while ((line = stream.readLine()) != null) {
            if (line.startsWith("data:")) {
                return line;
            }
        }
        throw new AssertionError("the stream ended without an event");
    }

    /** The first event on the stream that contains {@code text}. */
    private static String eventWith(BufferedReader stream, String text) {
        try {
            String event;
            do {
                event = firstEvent(stream);
            } while (!event.contains(text));
            return event;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitTrue(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(200);
        }
    }
}
