package dev.falgate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

import dev.falgate.callback.CallbackReceiver;
import dev.falgate.simulator.FalSimulator;

import tools.jackson.databind.json.JsonMapper;

/**
 * The packaged gateway killed with SIGKILL (kill -9) at random moments while it works, and started
 * again: no job is lost, none is billed twice, the spend equals the ledger, nothing stays leased.
 * Callers retry with their Idempotency-Key when a kill cuts their request off.
 */
class KillNineIT {

    private static final String FAL_KEY = "kill-nine-fal-key";
    private static final String ADMIN_KEY = "kill-nine-admin-key-8d7c6b5a4f3e2d1c0b9a8f7e";
    private static final int JOBS = 30;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void killedAndRestartedGatewayLosesNothingAndBillsNothingTwice() throws Exception {
        Random random = new Random(9);
        int port = PackagedJar.freePort();
        URI gateway = URI.create("http://127.0.0.1:" + port);
        try (FalSimulator fal = FalSimulator.start(0, FAL_KEY)) {
            fal.setTiming(Duration.ofMillis(300), Duration.ofMillis(700));
            Process process = start(port, fal);
            List<String> ids = new ArrayList<>();
            try {
                for (int i = 0; i < JOBS; i++) {
                    String key = "kill-nine-" + i;
                    String body = "{\"input\": {\"prompt\": \"kill nine #" + i + "\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}}";
                    String id = null;
                    while (id == null) {
                        id = submit(gateway, key, body); // null: the gateway was down; retry with the same key
                        if (id == null) {
                            process = awaitOrRestart(process, port, fal, gateway);
                        }
                    }
                    ids.add(id);
                    fal.deliverFinishedWebhooks(gateway, Instant.now());
                    if (i % 8 == 7) {
                        Thread.sleep(random.nextInt(400));
                        process.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook, no lease released
                        process = start(port, fal);
                    }
                }
                Instant deadline = Instant.now().plus(Duration.ofSeconds(120));
                while (Instant.now().isBefore(deadline) && !allFinished(ids)) {
                    fal.deliverFinishedWebhooks(gateway, Instant.now());
                    Thread.sleep(250);
                }
            } finally {
                process.destroy();
                process.waitFor();
            }

            JdbcClient db = database();
            String jobIds = String.join(",", ids.stream().map(id -> "'" + id + "'").toList());
            List<Map<String, Object>> jobs = db.sql("select id::text, status, cost_usd, lease_token from job where id in ("
                    + jobIds + ")").query().listOfRows();
            assertThat(jobs).hasSize(JOBS);
            assertThat(jobs).allSatisfy(job -> assertThat(job.get("status")).isEqualTo("completed"));
            assertThat(jobs).allSatisfy(job -> assertThat(job.get("lease_token")).isNull());
            List<Map<String, Object>> ledger = db.sql("select job_id::text, cost_usd from fal_request where job_id in ("
                    + jobIds + ") and cost_usd > 0").query().listOfRows();
            assertThat(ledger).as("exactly one billed fal request per job").hasSize(JOBS);
            BigDecimal spend = jobs.stream().map(j -> (BigDecimal) j.get("cost_usd")).reduce(BigDecimal.ZERO, BigDecimal::add);
            assertThat(spend).isEqualByComparingTo(new BigDecimal("0.12").multiply(BigDecimal.valueOf(JOBS)));
            long billedAtFal = fal.requestIds().stream().filter(fal::billed).count();
            assertThat(billedAtFal).as("what fal bills").isEqualTo(JOBS);
        }
    }

    @Test
    void aCallbackInFlightWhenTheGatewayIsKilledIsDeliveredAfterTheRestart() throws Exception {
        int port = PackagedJar.freePort();
        URI gateway = URI.create("http://127.0.0.1:" + port);
        try (FalSimulator fal = FalSimulator.start(0, FAL_KEY); CallbackReceiver receiver = CallbackReceiver.start()) {
            fal.setTiming(Duration.ofMillis(100), Duration.ofMillis(200));
            Map<String, String> callbacks = Map.of("FALGATE_CALLBACK_ALLOWED_HOSTS", receiver.origin().toString());
            String path = "/hooks/kill-nine";
            receiver.answerNext(path, new CallbackReceiver.Answer(204, Map.of(), 0, 20_000)); // holds the first attempt
            Process process = start(port, fal, callbacks);
            try {
                awaitOrRestart(process, port, fal, gateway);
                String body = "{\"callback_url\": \"" + receiver.url(path) + "\", \"input\": {\"prompt\": \"kill nine "
                        + "callback\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}}";
                String id = submit(gateway, "kill-nine-callback", body);
                Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
                while (receiver.received(path).isEmpty() && Instant.now().isBefore(deadline)) {
                    fal.deliverFinishedWebhooks(gateway, Instant.now());
                    Thread.sleep(20);
                }
                assertThat(receiver.received(path)).as("the first attempt reached the receiver").hasSize(1);

                process.destroyForcibly().waitFor(); // SIGKILL while the delivery waits for its answer
                process = start(port, fal, callbacks);
                deadline = Instant.now().plus(Duration.ofSeconds(150));
                while (receiver.received(path).size() < 2 && Instant.now().isBefore(deadline)) {
                    Thread.sleep(200);
                }

                assertThat(receiver.received(path)).as("sent again by the restarted gateway").hasSize(2);
                assertThat(receiver.received(path).get(1).header("webhook-id"))
                        .isEqualTo(receiver.received(path).get(0).header("webhook-id"));
                deadline = Instant.now().plus(Duration.ofSeconds(10));
                String status = null;
                while (!"delivered".equals(status) && Instant.now().isBefore(deadline)) {
                    status = database().sql("select status from callback_event where job_id = ?::uuid").param(id)
                            .query(String.class).single();
                    Thread.sleep(100);
                }
                assertThat(status).isEqualTo("delivered");
            } finally {
                process.destroy();
                process.waitFor();
            }
        }
    }

    private Process start(int port, FalSimulator fal) throws IOException {
        return start(port, fal, Map.of());
    }

    private Process start(int port, FalSimulator fal, Map<String, String> extraEnvironment) throws IOException {
        TestDatabase.Connection db = TestDatabase.get();
        Path log = Path.of("target", "test-logs", "kill-nine-" + System.nanoTime() + ".log");
        Files.createDirectories(log.getParent());
        ProcessBuilder builder = new ProcessBuilder(PackagedJar.java().toString(),
                "-jar", PackagedJar.path().toString(),
                "--falgate.worker.lease=5s", "--falgate.fal.response-timeout=2s", "--falgate.fal.connect-timeout=1s",
                "--falgate.worker.retry-base=200ms", "--falgate.worker.idle-delay=100ms",
                // a delivery in flight when the instance dies is taken over once its lease ends
                "--falgate.callback.timeout=3s", "--falgate.callback.lease=5s")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(name -> name.startsWith("FAL") || name.startsWith("SPRING_"));
        env.put("SERVER_PORT", Integer.toString(port));
        env.put("MANAGEMENT_SERVER_PORT", "0");
        env.put("FALGATE_ARCHIVE", "off"); // the simulator's video URLs are fal.media's, which tests never fetch
        env.put("FAL_KEY", FAL_KEY);
        env.put("FALGATE_ADMIN_KEY", ADMIN_KEY);
        env.put("FAL_QUEUE_URL", fal.baseUrl().toString());
        env.put("FAL_API_URL", fal.baseUrl() + "/v1");
        env.put("FALGATE_PUBLIC_URL", "http://127.0.0.1:" + port);
        env.put("FALGATE_FAL_JWKS_URL", fal.jwksUrl().toString());
        env.put("FALGATE_FAL_POLL_INTERVAL", "300ms");
        // Longer than a restart takes on a slow machine (~18 s seen): a grace that ends while the gateway is down
        // re-sends a submit whose webhook has not been delivered yet, and both are billed, as designed. Short enough
        // that a submit killed before it left is re-sent within the wait below.
        env.put("FALGATE_SUBMIT_UNKNOWN_GRACE", "60s");
        env.put("SPRING_DATASOURCE_URL", db.url());
        env.put("SPRING_DATASOURCE_USERNAME", db.username());
        env.put("SPRING_DATASOURCE_PASSWORD", db.password());
        env.putAll(extraEnvironment);
        return builder.start();
    }

    /** Waits for the gateway to answer again; starts it anew if its process is gone. */
    private Process awaitOrRestart(Process process, int port, FalSimulator fal, URI gateway) throws Exception {
        Process current = process.isAlive() ? process : start(port, fal);
        // generous: a loaded 2-core machine has taken 70 s to start the jar; this test is about what survives, not speed
        Instant deadline = Instant.now().plus(Duration.ofSeconds(150));
        while (Instant.now().isBefore(deadline)) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(gateway + "/actuator/health/readiness")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return current;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the gateway did not come back within 150 s");
    }

    private String submit(URI gateway, String key, String body) throws InterruptedException {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(gateway + "/v1/jobs"))
                    .header("Authorization", "Bearer " + ADMIN_KEY).header("Content-Type", "application/json")
                    .header("Idempotency-Key", key).timeout(Duration.ofSeconds(5))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(response.body()).isIn(200, 202);
            return json.readTree(response.body()).path("id").asString();
        } catch (IOException e) {
            return null;
        }
    }

    private boolean allFinished(List<String> ids) {
        String jobIds = String.join(",", ids.stream().map(id -> "'" + id + "'").toList());
        return database().sql("select count(*) from job where id in (" + jobIds + ") and (status not in "
                + "('completed', 'failed', 'cancelled') or next_attempt_at is not null)").query(Long.class).single() == 0;
    }

    private static JdbcClient database() {
        TestDatabase.Connection db = TestDatabase.get();
        return JdbcClient.create(new DriverManagerDataSource(db.url(), db.username(), db.password()));
    }
}
