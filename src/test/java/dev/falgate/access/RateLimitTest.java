package dev.falgate.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/** Per-key rate limits: 429 with Retry-After, one bucket in PostgreSQL however many instances ask. */
class RateLimitTest extends IntegrationTest {

    @Test
    void aKeyOverItsLimitIsAnswered429WithRetryAfterAndRefillsOverTime() {
        String key = createKey("rate-" + UUID.randomUUID().toString().substring(0, 8), 3, "jobs:read");

        for (int i = 0; i < 3; i++) {
            assertThat(send(as(key, "/v1/jobs").GET()).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> limited = send(as(key, "/v1/jobs").GET());

        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(limited.headers().firstValue("Retry-After")).hasValue("20");
        JsonNode problem = body(limited);
        assertThat(problem.path("type").asString()).endsWith("/rate_limited");
        assertThat(problem.path("detail").asString()).contains("3 requests a minute");

        clock.advance(Duration.ofSeconds(20)); // one token back at 3 a minute
        assertThat(send(as(key, "/v1/jobs").GET()).statusCode()).isEqualTo(200);
        assertThat(send(as(key, "/v1/jobs").GET()).statusCode()).isEqualTo(429);
        assertThat(send(request("/v1/jobs").GET()).statusCode()).as("other keys are not affected").isEqualTo(200);
    }

    @Test
    void concurrentRequestsDrawFromOneBucket() throws Exception {
        String key = createKey("burst-" + UUID.randomUUID().toString().substring(0, 8), 5, "jobs:read");
        ExecutorService callers = Executors.newFixedThreadPool(20);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> statuses = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                statuses.add(callers.submit(() -> {
                    go.await();
                    return send(as(key, "/v1/jobs").GET()).statusCode();
                }));
            }
            go.countDown();
            List<Integer> answered = new ArrayList<>();
            for (Future<Integer> status : statuses) {
                answered.add(status.get());
            }

            assertThat(answered).filteredOn(status -> status == 200).hasSize(5);
            assertThat(answered).filteredOn(status -> status == 429).hasSize(15);
        } finally {
            callers.shutdownNow();
        }
    }
}
