package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.Test;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator;
import tools.jackson.databind.JsonNode;

/**
 * The background worker loop on, as production runs it: no test steps {@link JobWorker#runOnce()}; the tests wait
 * (bounded) for what a caller would see. The loop claims by the gateway's clock, so a wait moves that clock on
 * while a job waits for its next poll at fal. The loop also works on jobs other test classes left in the shared
 * database, so the assertions only look at this class's own jobs (unique prompt markers).
 * <p>
 * The context is closed after the class ({@link DirtiesContext}): a cached context whose loop kept running would
 * claim the jobs of the test classes that run after it, with this context's settings (webhooks on).
 */
@TestPropertySource(properties = {"falgate.worker.enabled=true", "falgate.worker.idle-delay=50ms"})
@DirtiesContext
class WorkerLoopTest extends IntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void anAcceptedJobIsSentPolledAndCompletedByTheBackgroundLoopAlone() throws InterruptedException {
        String marker = UUID.randomUUID().toString();
        String id = submitJob(marker);

        JsonNode done = awaitJob(id, job -> job.path("status").asString().equals("completed"));

        assertThat(done.path("status").asString()).isEqualTo("completed");
        assertThat(done.path("cost_usd").asString()).isEqualTo("0.12");
        assertThat(done.path("attempts").asInt()).isEqualTo(1);
        String requestId = done.path("fal_request_id").asString();
        assertThat(done.path("result").path("video").path("url").asString())
                .isEqualTo("https://v3.fal.media/files/simulated/" + requestId + "/output.mp4");
        assertThat(done.path("result").path("seed").isNumber()).as("seed").isTrue();
        assertThat(submissionsFor(marker)).as("sent once").hasSize(1);
        assertThat(fal.received()).as("the result fetched once")
                .filteredOn(r -> r.method().equals("GET") && r.path().equals(FalSimulator.APP + "/requests/" + requestId))
                .hasSize(1);
    }

    @Test
    void healthShowsTheRunningWorkerUp() throws InterruptedException {
        String id = submitJob(UUID.randomUUID().toString());
        // the loop is turning: it took the job without anyone stepping it
        JsonNode taken = awaitJob(id, job -> !job.path("status").asString().equals("queued"));
        assertThat(taken.path("status").asString()).isNotEqualTo("queued");

        JsonNode health = body(management("/actuator/health"));

        assertThat(health.path("components").path("worker").path("status").asString()).isEqualTo("UP");
    }

    /**
     * Reads the job every 50 ms until {@code reached} holds or {@link #WAIT} has passed: waiting for the loop's work
     * (an event), not for time to pass. Once the job is at fal, its next poll is due later by the gateway's clock,
     * which only the test moves: each look moves it a second on.
     */
    private JsonNode awaitJob(String id, Predicate<JsonNode> reached) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode job = job(id);
        while (!reached.test(job) && System.nanoTime() < deadline) {
            if (!job.path("status").asString().equals("queued")) {
                clock.advance(Duration.ofSeconds(1));
            }
            TimeUnit.MILLISECONDS.sleep(50);
            job = job(id);
        }
        return job;
    }


}
