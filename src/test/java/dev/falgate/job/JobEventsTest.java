package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;

/** GET /v1/jobs/{id}/events: one status event at connect and per change, closing after the terminal one. */
class JobEventsTest extends IntegrationTest {

    @Test
    void streamsEveryChangeAndEndsAfterTheTerminalOne() throws Exception {
        fal.setTiming(Duration.ZERO, Duration.ofMillis(400));
        String id = body(post("/v1/jobs", validBody(UUID.randomUUID().toString()))).path("id").asString();
        HttpResponse<Stream<String>> stream = HttpClient.newHttpClient()
                .send(request("/v1/jobs/" + id + "/events").header("Accept", "text/event-stream").GET().build(),
                        HttpResponse.BodyHandlers.ofLines());
        CompletableFuture<List<String>> lines = CompletableFuture.supplyAsync(() -> stream.body().toList());

        Thread.sleep(1500);
        runWorker(); // submitted
        Thread.sleep(1500);
        clock.advance(Duration.ofSeconds(3));
        runWorker(); // in progress or completed
        Thread.sleep(1500);
        clock.advance(Duration.ofSeconds(3));
        runWorker(); // completed

        List<String> received = lines.get(10, TimeUnit.SECONDS);
        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(stream.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("text/event-stream"));
        List<String> statuses = received.stream().filter(line -> line.startsWith("data:"))
                .map(line -> json.readTree(line.substring(5)).path("status").asString()).toList();
        // every change of the job is an event (a submit under way changes attempts, not yet the status)
        assertThat(statuses.stream().distinct().toList()).startsWith("queued", "submitted").endsWith("completed");
        assertThat(statuses).endsWith("completed").filteredOn("completed"::equals).hasSize(1);
        assertThat(received.stream().filter(line -> line.startsWith("event:")).distinct().toList())
                .containsExactly("event:status");
    }
}
