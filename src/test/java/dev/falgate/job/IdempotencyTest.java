package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/** Idempotency-Key with Stripe's semantics: one job per key and client, whatever the retries and races. */
class IdempotencyTest extends IntegrationTest {

    @Autowired
    JobWorker worker;

    @Test
    void replaysTheSameJobForTheSameKeyAndBody() {
        String key = UUID.randomUUID().toString();
        String marker = UUID.randomUUID().toString();

        HttpResponse<String> first = submit(key, validBody(marker));
        WorkerRuns.untilIdle(worker);
        HttpResponse<String> again = submit(key, validBody(marker));
        WorkerRuns.untilIdle(worker);

        assertThat(first.statusCode()).isEqualTo(202);
        assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
        assertThat(again.statusCode()).isEqualTo(200);
        assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(body(again).path("id")).isEqualTo(body(first).path("id"));
        assertThat(again.headers().firstValue("Location")).isEqualTo(first.headers().firstValue("Location"));
        assertThat(submissionsFor(marker).size()).as("nothing new reaches fal").isEqualTo(1);
    }

    @Test
    void theSameBodyWithFieldsInAnotherOrderIsTheSameRequest() {
        String key = UUID.randomUUID().toString();
        String first = "{\"metadata\": {\"a\": 1, \"b\": 2}, \"input\": {\"prompt\": \"p\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}}";
        String reordered = "{\"input\": {\"video\": {\"video_url\": \"https://e.com/a.mp4\"}, \"prompt\": \"p\"}, \"metadata\": {\"b\": 2, \"a\": 1}}";

        assertThat(submit(key, first).statusCode()).isEqualTo(202);
        assertThat(submit(key, reordered).statusCode()).isEqualTo(200);
    }

    @Test
    void refusesTheSameKeyWithAnotherBody() {
        String key = UUID.randomUUID().toString();
        submit(key, validBody("one " + UUID.randomUUID()));

        HttpResponse<String> reused = submit(key, validBody("two " + UUID.randomUUID()));

        assertThat(reused.statusCode()).isEqualTo(422);
        JsonNode problem = body(reused);
        assertThat(problem.path("type").asString()).endsWith("/idempotency_key_reused");
        assertThat(problem.path("errors").get(0).path("field").asString()).isEqualTo("Idempotency-Key");
    }

    @Test
    void refusesAMalformedKey() {
        for (String bad : List.of("", "x".repeat(256), "tab\tinside")) {
            HttpResponse<String> response = submit(bad, validBody(UUID.randomUUID().toString()));

            assertThat(response.statusCode()).as("key '%s'", bad).isEqualTo(400);
            assertThat(body(response).path("errors").get(0).path("field").asString()).isEqualTo("Idempotency-Key");
        }
    }

    @Test
    void twentyConcurrentFirstUsesMakeOneJobAndOneFalRequest() throws Exception {
        String key = UUID.randomUUID().toString();
        String marker = UUID.randomUUID().toString();
        ExecutorService callers = Executors.newFixedThreadPool(20);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                answers.add(callers.submit(() -> {
                    go.await();
                    return submit(key, validBody(marker));
                }));
            }
            go.countDown();
            List<HttpResponse<String>> responses = new ArrayList<>();
            for (Future<HttpResponse<String>> answer : answers) {
                responses.add(answer.get());
            }

            assertThat(responses).extracting(HttpResponse::statusCode).containsOnly(202, 200);
            assertThat(responses).filteredOn(r -> r.statusCode() == 202).hasSize(1);
            assertThat(responses.stream().map(r -> body(r).path("id").asString()).distinct()).hasSize(1);
        } finally {
            callers.shutdownNow();
        }
        WorkerRuns.untilIdle(worker);

        assertThat(jdbc.sql("select count(*) from job where idempotency_key = ?").param(key).query(Long.class).single())
                .isEqualTo(1);
        assertThat(submissionsFor(marker).size()).isEqualTo(1);
    }

    @Test
    void keysAreScopedToTheClient() {
        String key = UUID.randomUUID().toString();
        submit(key, validBody(UUID.randomUUID().toString()));
        jdbc.sql("update job set client = 'other-app' where idempotency_key = ?").param(key).update();

        assertThat(submit(key, validBody(UUID.randomUUID().toString())).statusCode()).isEqualTo(202);
    }

    private HttpResponse<String> submit(String key, String body) {
        return send(request("/v1/jobs").header("Content-Type", "application/json").header("Idempotency-Key", key)
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

}
