package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.simple.JdbcClient;

import dev.falgate.FalgateApplication;
import dev.falgate.IntegrationTest;
import dev.falgate.MutableClock;
import dev.falgate.TestClockConfiguration;
import dev.falgate.TestDatabase;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The job row is the source of truth: stopping the gateway and starting it again changes and loses nothing. */
class RestartTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void jobSurvivesARestartUnchangedAndCompletesAfterIt() throws Exception {
        String marker = UUID.randomUUID().toString();
        String id;
        JsonNode beforeRestart;
        try (ConfigurableApplicationContext first = start()) {
            id = json.readTree(send(first, HttpRequest.newBuilder(uri(first, "/v1/jobs"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("""
                            {"input": {"prompt": "restart %s", "video": {"video_url": "https://example.com/in.mp4"}},
                             "metadata": {"order_id": "R-1"}}
                            """.formatted(marker))))).path("id").asString();
            JobWorker worker = first.getBean(JobWorker.class);
            WorkerRuns.untilIdle(worker);
            beforeRestart = json.readTree(send(first, HttpRequest.newBuilder(uri(first, "/v1/jobs/" + id))));
            assertThat(beforeRestart.path("status").asString()).isEqualTo("submitted");

            // The instance is holding the job when it is told to stop: graceful shutdown gives the lease back.
            first.getBean(JobClaims.class).claimDue(worker.owner(), 1000, Instant.now().plus(Duration.ofHours(1)),
                    Instant.now().plus(Duration.ofHours(2)));
            assertThat(leaseOwner(first, id)).isEqualTo(worker.owner());
        }
        JdbcClient db = JdbcClient.create(new org.springframework.jdbc.datasource.DriverManagerDataSource(
                TestDatabase.get().url(), TestDatabase.get().username(), TestDatabase.get().password()));
        assertThat(db.sql("select lease_owner from job where id = ?::uuid").param(id).query(String.class).optional())
                .as("lease released at shutdown").isEmpty();

        try (ConfigurableApplicationContext second = start()) {
            JsonNode afterRestart = json.readTree(send(second, HttpRequest.newBuilder(uri(second, "/v1/jobs/" + id))));
            assertThat(afterRestart).isEqualTo(beforeRestart);

            second.getBean(MutableClock.class).advance(Duration.ofSeconds(5));
            WorkerRuns.untilIdle(second.getBean(JobWorker.class));

            JsonNode done = json.readTree(send(second, HttpRequest.newBuilder(uri(second, "/v1/jobs/" + id))));
            assertThat(done.path("status").asString()).isEqualTo("completed");
            assertThat(done.path("cost_usd").asString()).isEqualTo("0.12");
            assertThat(done.path("fal_request_id")).isEqualTo(beforeRestart.path("fal_request_id"));
            assertThat(done.path("metadata")).isEqualTo(beforeRestart.path("metadata"));
        }
        assertThat(IntegrationTest.fal.submissions().stream().filter(r -> r.body().contains(marker)).count())
                .isEqualTo(1);
    }

    private static ConfigurableApplicationContext start() {
        TestDatabase.Connection db = TestDatabase.get();
        return new SpringApplicationBuilder(FalgateApplication.class, TestClockConfiguration.class)
                .run("--server.port=0",
                        "--management.server.port=0",
                        "--falgate.archive.mode=off",
                        "--spring.jmx.enabled=false",
                        "--spring.datasource.url=" + db.url(),
                        "--spring.datasource.username=" + db.username(),
                        "--spring.datasource.password=" + db.password(),
                        "--falgate.worker.enabled=false",
                        "--falgate.fal.key=" + IntegrationTest.FAL_KEY,
                        "--falgate.fal.queue-url=" + IntegrationTest.fal.baseUrl(),
                        "--falgate.access.admin-key=" + IntegrationTest.ADMIN_KEY);
    }

    private static String leaseOwner(ConfigurableApplicationContext app, String id) {
        return app.getBean(JdbcClient.class).sql("select lease_owner from job where id = ?::uuid").param(id)
                .query(String.class).single();
    }

    private static URI uri(ConfigurableApplicationContext app, String path) {
        int port = ((WebServerApplicationContext) app).getWebServer().getPort();
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private String send(ConfigurableApplicationContext app, HttpRequest.Builder request) throws Exception {
        HttpResponse<String> response = http.send(request.header("Authorization", "Bearer " + IntegrationTest.ADMIN_KEY)
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isLessThan(300);
        return response.body();
    }
}
