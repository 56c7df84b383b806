package dev.falgate.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import dev.falgate.IntegrationTest;

/**
 * A delivery works on its job at once, but no more of them at a time than the worker's concurrency: a burst
 * of fal's webhooks must not take every request thread and database connection from the callers.
 */
@TestPropertySource(properties = "falgate.worker.concurrency=1")
class WebhookBurstTest extends IntegrationTest {

    @Test
    void beyondTheWorkersConcurrencyADeliveryLeavesItsJobDueForTheWorker() throws Exception {
        String first = submit();
        String second = submit();
        runWorker();
        String firstRequest = job(first).path("fal_request_id").asString();
        String secondRequest = job(second).path("fal_request_id").asString();
        clock.advance(Duration.ofSeconds(5));
        String later = submit(); // queued behind the two: the worker has a backlog
        clock.advance(Duration.ofSeconds(5));

        CompletableFuture<Integer> slowDelivery;
        try (AutoCloseable slowFal = fal.holdResults()) {
            slowDelivery = CompletableFuture.supplyAsync(
                    () -> fal.deliverWebhook(firstRequest, gateway(), clock.instant()));
            awaitResultCallFor(firstRequest); // the first delivery's round now waits on fal

            assertThat(fal.deliverWebhook(secondRequest, gateway(), clock.instant())).isEqualTo(200);
            assertThat(job(second).path("status").asString()).as("answered without working on it")
                    .isEqualTo("submitted");
            assertThat(dueAt(second)).as("due for the worker").isBeforeOrEqualTo(clock.instant());
            assertThat(dueAt(second)).as("a finished job is fetched before jobs accepted after it are submitted")
                    .isBefore(dueAt(later));
        }
        assertThat(slowDelivery.get(10, TimeUnit.SECONDS)).isEqualTo(200);
        assertThat(job(first).path("status").asString()).isEqualTo("completed");

        runWorker();
        assertThat(job(second).path("status").asString()).isEqualTo("completed");
    }

    private void awaitResultCallFor(String requestId) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(5));
        while (fal.received().stream().noneMatch(r -> r.method().equals("GET") && r.path().endsWith("/" + requestId))) {
            assertThat(Instant.now()).as("fal saw the result call").isBefore(deadline);
            Thread.sleep(10);
        }
    }

    private String submit() {
        return body(post("/v1/jobs", validBody(UUID.randomUUID().toString()))).path("id").asString();
    }

    private Instant dueAt(String id) {
        return jdbc.sql("select next_attempt_at from job where id = ?::uuid").param(id).query(Timestamp.class)
                .single().toInstant();
    }
}
