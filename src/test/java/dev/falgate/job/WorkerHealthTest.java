package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;

import dev.falgate.IntegrationTest;

/**
 * Health {@code worker} tells an orchestrator when this instance stopped claiming work that is due: here its
 * only thread is stuck in a submit fal does not answer while another job waits. The background loop runs, as in
 * production; the context is closed after the class so its loop does not outlive it.
 */
@TestPropertySource(properties = {"falgate.worker.enabled=true", "falgate.worker.concurrency=1",
        "falgate.worker.idle-delay=50ms", "falgate.worker.stuck-after=1s"})
@DirtiesContext
class WorkerHealthTest extends IntegrationTest {

    @Test
    void aWorkerWhoseThreadsAreAllStuckWhileJobsAreDueIsDownAndRecovers() throws Exception {
        String stuck = UUID.randomUUID().toString();
        try (AutoCloseable held = fal.holdSubmits()) {
            String first = submitJob(stuck);
            awaitTrue("the loop's only thread is in the submit", () -> !submissionsFor(stuck).isEmpty());
            String waiting = submitJob(UUID.randomUUID().toString());

            awaitTrue("health worker DOWN", () -> workerHealth().equals("DOWN"));
            assertThat(job(waiting).path("status").asString()).isEqualTo("queued");
            assertThat(first).isNotBlank();
        }
        awaitTrue("health worker UP again once the thread is free", () -> workerHealth().equals("UP"));
    }

    private String workerHealth() {
        return body(management("/actuator/health")).path("components").path("worker").path("status")
                .asString();
    }

    private static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(50); // waiting for an event, not for time to pass
        }
    }
}
