package dev.falgate;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import dev.falgate.archive.ArchiveRuns;
import dev.falgate.callback.CallbackReceiver;
import dev.falgate.callback.CallbackRuns;
import dev.falgate.job.WorkerRuns;
import dev.falgate.simulator.FalSimulator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Base of the flow tests: the whole gateway on a random port against real PostgreSQL ({@link TestDatabase})
 * and the HTTP-level fal simulator, with a clock the test moves and the worker driven by hand.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "falgate.worker.enabled=false",
        "falgate.fal.key=" + IntegrationTest.FAL_KEY,
        "falgate.access.admin-key=" + IntegrationTest.ADMIN_KEY,
        "falgate.fal.response-timeout=2s",
        "falgate.fal.public-url=" + IntegrationTest.PUBLIC_URL,
        // the tests drive polling by hand; the 60 s default while webhooks are on would only slow them down
        "falgate.worker.webhook-poll-interval=2s",
        // several test contexts stay cached at once: each must not hold 20 idle connections of PostgreSQL's 100
        "spring.datasource.hikari.minimum-idle=1",
        "management.server.port=0",
        "falgate.archive.dir=target/test-archive",
        "falgate.callback.timeout=2s",
        "falgate.facade.run-timeout=3s"
})
@Import(TestClockConfiguration.class)
public abstract class IntegrationTest {

    /** Test stand-ins for the secrets; SecretsNeverLoggedIT checks the suite's log never shows them. */
    public static final String FAL_KEY = "fal-test-key-0d8e2b4c:9f1a7c3e5b2d4f6a8c0e1b3d5f7a9c2e";
    public static final String ADMIN_KEY = "fgk_test_admin_6c1f9e2a7b3d4c8e0f5a1b2c3d4e5f6a";

    /** What submits name as the gateway's address; the simulator's deliveries are redirected to the real port. */
    public static final String PUBLIC_URL = "http://falgate.test";

    public static final FalSimulator fal = FalSimulator.start(0, FAL_KEY);
    /** Callers' callback endpoints, on an allow-listed origin (127.0.0.1 is otherwise refused). */
    public static final CallbackReceiver receiver = CallbackReceiver.start();
    private static final HttpClient http = HttpClient.newHttpClient();

    @LocalServerPort
    protected int port;
    /** Where metrics and health details are served (MANAGEMENT_SERVER_PORT), apart from the API. */
    @LocalManagementPort
    protected int managementPort;
    @Autowired
    protected MutableClock clock;
    @Autowired
    protected JsonMapper json;
    @Autowired
    protected JdbcClient jdbc;
    @Autowired
    protected ApplicationContext applicationContext;

    @DynamicPropertySource
    static void infrastructure(DynamicPropertyRegistry registry) {
        TestDatabase.Connection db = TestDatabase.get();
        registry.add("spring.datasource.url", db::url);
        registry.add("spring.datasource.username", db::username);
        registry.add("spring.datasource.password", db::password);
        registry.add("falgate.fal.queue-url", () -> fal.baseUrl().toString());
        registry.add("falgate.fal.api-url", () -> fal.baseUrl() + "/v1");
        registry.add("falgate.webhook.jwks-url", () -> fal.jwksUrl().toString());
        // the simulator is fal's CDN too (FalSimulator.serveMedia): its origin is where output files may be fetched
        registry.add("falgate.archive.allowed-hosts", () -> fal.baseUrl().toString());
        registry.add("falgate.callback.allowed-hosts", () -> receiver.origin().toString());
    }

    @BeforeEach
    void resetSimulator() {
        fal.reset();
        receiver.reset();
        fal.useClock(clock); // fal's time is the gateway's: it moves only when the test moves it
    }

    // --- calling the gateway as a client would ----------------------------------------------------

    /** Runs the gateway's worker by hand until nothing is due at the test clock's time. */
    protected void runWorker() {
        WorkerRuns.untilIdle(applicationContext);
    }

    /** Runs the archive worker by hand until no copy is due: completed jobs' videos are copied. */
    protected void runArchive() {
        ArchiveRuns.untilIdle(applicationContext);
    }

    /** Runs the callback worker by hand until no event is due: ended jobs' events are delivered. */
    protected void runCallbacks() {
        CallbackRuns.untilIdle(applicationContext);
    }

    protected URI gateway() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** A GET on the management port, as Prometheus or an operator reaches it (no key there). */
    protected HttpResponse<String> management(String path) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path)).GET());
    }

    protected HttpResponse<String> post(String path, String body) {
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    protected HttpResponse<String> get(String path) {
        return send(request(path).GET());
    }

    protected HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + ADMIN_KEY);
    }

    /**
     * Sends a request as a client would. Every answer must conform to the OpenAPI document the gateway serves
     * ({@link ApiContract}): a test that receives one that doesn't fails, naming the violations.
     */
    protected HttpResponse<String> send(HttpRequest.Builder request) {
        HttpRequest built = request.build();
        HttpResponse<String> response;
        try {
            response = http.send(built, HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        if (built.uri().getPort() == port) { // the management port is not the API the document describes
            ApiContract.servedOn(port).check(built, response);
        }
        return response;
    }

    protected JsonNode body(HttpResponse<String> response) {
        return json.readTree(response.body());
    }

    /** The job resource as the admin key reads it. */
    protected JsonNode job(String id) {
        return body(get("/v1/jobs/" + id));
    }

    /** Creates an API key through the admin API and returns its secret (recorded for SecretsNeverLoggedIT). */
    protected String createKey(String client, Integer ratePerMinute, String... scopes) {
        String body = json.writeValueAsString(java.util.Map.of("client", client, "name", "test key",
                "scopes", java.util.List.of(scopes)));
        if (ratePerMinute != null) {
            body = body.substring(0, body.length() - 1) + ", \"rate_limit_per_minute\": " + ratePerMinute + "}";
        }
        HttpResponse<String> created = post("/v1/keys", body);
        if (created.statusCode() != 201) {
            throw new IllegalStateException("key not created: " + created.body());
        }
        String secret = body(created).path("key").asString();
        GeneratedSecrets.remember(secret);
        return secret;
    }

    /** The same request as {@link #request} but with another API key (or none, for null). */
    protected HttpRequest.Builder as(String key, String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        return key == null ? builder : builder.header("Authorization", "Bearer " + key);
    }

    /** Submits a job whose prompt carries {@code marker} (see {@link #validBody}) and returns its id. */
    protected String submitJob(String marker) {
        return body(post("/v1/jobs", validBody(marker))).path("id").asString();
    }

    /** The submits fal received for jobs whose prompt carries {@code marker}. */
    protected List<FalSimulator.Received> submissionsFor(String marker) {
        return fal.submissions().stream().filter(r -> r.body().contains(marker)).toList();
    }

    /** The request fal created for the one submit carrying {@code marker}. */
    protected String onlyRequestOf(String marker) {
        List<String> ids = fal.requestIdsFor(marker);
        assertThat(ids).as("requests fal created for %s", marker).hasSize(1);
        return ids.get(0);
    }

    /** How falgate learned of each fal request of the job: submit, webhook or listing. */
    protected List<String> ledgerVia(String jobId) {
        return jdbc.sql("select learned_via from fal_request where job_id = ?::uuid").param(jobId).query(String.class)
                .list();
    }

    /** A minimal valid submit body whose prompt carries {@code marker}, so a test finds its own jobs. */
    protected static String validBody(String marker) {
        return """
                {"input": {"prompt": "Woman walking on a street in Tokyo %s",
                           "video": {"video_url": "https://example.com/in.mp4", "start_frame_num": 24}}}
                """.formatted(marker);
    }

}
