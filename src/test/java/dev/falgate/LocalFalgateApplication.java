package dev.falgate;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

import dev.falgate.simulator.FalSimulator;

/**
 * What {@code ./mvnw spring-boot:run} starts: the real gateway, with local stand-ins for whatever the
 * environment does not provide. No database given ({@code SPRING_DATASOURCE_URL}): an embedded PostgreSQL
 * whose data lives in {@code .local/postgres} and survives restarts. No {@code FAL_KEY}: the fal simulator.
 * No {@code FALGATE_ADMIN_KEY}: a generated one, kept in {@code .local/admin-key}. Lives in src/test, so
 * the packaged jar and the Docker image can never fall back to any of these.
 */
public final class LocalFalgateApplication {

    private static final Path HOME = Path.of(".local");
    private static final String SIMULATOR_KEY = "local-simulator-key";

    private LocalFalgateApplication() {
    }

    public static void main(String[] args) throws IOException {
        Files.createDirectories(HOME);
        System.setProperty("logging.config", "classpath:logback-local.xml");
        List<String> report = new ArrayList<>();
        List<AutoCloseable> standIns = new ArrayList<>();

        if (isSet("SPRING_DATASOURCE_URL")) {
            report.add("database: SPRING_DATASOURCE_URL (" + System.getenv("SPRING_DATASOURCE_URL") + ")");
        } else {
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(HOME.resolve("postgres"))
                    .setCleanDataDirectory(false)
                    .start();
            standIns.add(postgres);
            System.setProperty("spring.datasource.url", postgres.getJdbcUrl("postgres", "postgres"));
            System.setProperty("spring.datasource.username", "postgres");
            System.setProperty("spring.datasource.password", "");
            report.add("database: embedded PostgreSQL on port " + postgres.getPort() + ", data in "
                    + HOME.resolve("postgres").toAbsolutePath());
        }

        if (isSet("FAL_KEY")) {
            report.add("fal: the real queue API at " + System.getenv().getOrDefault("FAL_QUEUE_URL", "https://queue.fal.run")
                    + " (FAL_KEY is set)");
        } else {
            FalSimulator simulator = FalSimulator.start(0, SIMULATOR_KEY)
                    .setTiming(Duration.ofSeconds(2), Duration.ofSeconds(5));
            standIns.add(simulator);
            System.setProperty("falgate.fal.key", SIMULATOR_KEY);
            System.setProperty("falgate.fal.queue-url", simulator.baseUrl().toString());
            System.setProperty("falgate.fal.api-url", simulator.baseUrl() + "/v1");
            // The simulator signs and delivers fal's webhooks to this gateway, as fal would.
            String gateway = "http://127.0.0.1:" + System.getenv().getOrDefault("SERVER_PORT", "8080");
            if (!isSet("FALGATE_PUBLIC_URL")) {
                System.setProperty("falgate.fal.public-url", gateway);
            }
            System.setProperty("falgate.webhook.jwks-url", simulator.jwksUrl().toString());
            // the simulator is fal's CDN as well: its output files are real bytes the archive copies
            simulator.serveMedia();
            if (!isSet("FALGATE_ARCHIVE_ALLOWED_HOSTS")) {
                System.setProperty("falgate.archive.allowed-hosts", simulator.baseUrl().toString());
            }
            ScheduledExecutorService deliveries = Executors.newSingleThreadScheduledExecutor(task -> {
                Thread thread = new Thread(task, "fal-simulator-webhooks");
                thread.setDaemon(true);
                return thread;
            });
            deliveries.scheduleWithFixedDelay(() -> simulator.deliverFinishedWebhooks(URI.create(gateway), Instant.now()),
                    1, 1, TimeUnit.SECONDS);
            standIns.add(deliveries::shutdownNow);
            report.add("fal: the fal simulator at " + simulator.baseUrl() + ", delivering signed webhooks to " + gateway
                    + " (set FAL_KEY to call the real fal)");
        }

        if (!isSet("FALGATE_ARCHIVE_DIR") && !isSet("FALGATE_ARCHIVE_S3_BUCKET") && !isSet("FALGATE_ARCHIVE")) {
            System.setProperty("falgate.archive.dir", HOME.resolve("archive").toString());
            report.add("archive: completed videos copied to " + HOME.resolve("archive").toAbsolutePath());
        }

        if (isSet("FALGATE_ADMIN_KEY")) {
            report.add("admin key: FALGATE_ADMIN_KEY from the environment");
        } else {
            String adminKey = localAdminKey();
            System.setProperty("falgate.access.admin-key", adminKey);
            report.add("admin key: " + adminKey + "  (kept in " + HOME.resolve("admin-key") + ")");
        }

        SpringApplication application = new SpringApplication(FalgateApplication.class);
        // One hook stops the gateway first and its stand-ins after, so in-flight work can still be written.
        application.setRegisterShutdownHook(false);
        ConfigurableApplicationContext context = application.run(args);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            context.close();
            for (AutoCloseable standIn : standIns) {
                try {
                    standIn.close();
                } catch (Exception e) {
                    // shutting down regardless
                }
            }
        }, "falgate-local-shutdown"));

        Logger log = LoggerFactory.getLogger(LocalFalgateApplication.class);
        String port = context.getEnvironment().getProperty("local.server.port", "8080");
        log.info("falgate is running locally at http://localhost:{}\n  {}", port, String.join("\n  ", report));
    }

    private static String localAdminKey() throws IOException {
        Path file = HOME.resolve("admin-key");
        if (Files.exists(file)) {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String key = "fgk_local_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        Files.writeString(file, key + "\n", StandardCharsets.UTF_8);
        return key;
    }

    private static boolean isSet(String variable) {
        String value = System.getenv(variable);
        return value != null && !value.isBlank();
    }
}
