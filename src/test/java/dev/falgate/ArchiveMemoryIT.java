package dev.falgate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.falgate.simulator.FalSimulator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The archive copies a video much larger than the gateway's whole heap: the packaged jar runs with
 * {@code -Xmx160m} and copies a 400 MiB output file from fal's (simulated) CDN, streaming it to disk; the copy's
 * size and SHA-256 match what fal served, and the heap in use stays under its cap throughout.
 */
class ArchiveMemoryIT {

    private static final String FAL_KEY = "archive-memory-fal-key";
    private static final String ADMIN_KEY = "archive-memory-admin-key-4b3a29180f7e6d5c";
    private static final long HEAP_BYTES = 160L * 1024 * 1024;
    private static final long VIDEO_BYTES = 400L * 1024 * 1024;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void aVideoLargerThanTheHeapIsCopiedWithBoundedMemory() throws Exception {
        int port = PackagedJar.freePort();
        int managementPort = PackagedJar.freePort();
        URI gateway = URI.create("http://127.0.0.1:" + port);
        Path archive = Path.of("target", "archive-memory-" + System.nanoTime()).toAbsolutePath();
        try (FalSimulator fal = FalSimulator.start(0, FAL_KEY)) {
            fal.setTiming(Duration.ofMillis(100), Duration.ofMillis(200));
            fal.serveMedia(VIDEO_BYTES);
            Process process = start(port, managementPort, fal, archive);
            try {
                awaitReady(gateway);
                String id = json.readTree(call(HttpRequest.newBuilder(gateway.resolve("/v1/jobs"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("""
                                {"input": {"prompt": "a large output", "video": {"video_url": "https://e.com/a.mp4"}}}
                                """))).body()).path("id").asString();

                long peakHeap = 0;
                JsonNode stored = null;
                Instant deadline = Instant.now().plus(Duration.ofMinutes(5));
                while (stored == null && Instant.now().isBefore(deadline)) {
                    peakHeap = Math.max(peakHeap, heapInUse(managementPort));
                    JsonNode copy = json.readTree(call(HttpRequest.newBuilder(gateway.resolve("/v1/jobs/" + id)).GET())
                            .body()).at("/result/video/archive");
                    stored = copy.path("status").asString("").equals("stored") ? copy : null;
                    Thread.sleep(100);
                }

                assertThat(stored).as("the copy was stored within 5 minutes").isNotNull();
                assertThat(process.isAlive()).isTrue();
                assertThat(stored.path("bytes").asLong()).isEqualTo(VIDEO_BYTES);
                String requestId = json.readTree(call(HttpRequest.newBuilder(gateway.resolve("/v1/jobs/" + id)).GET())
                        .body()).path("fal_request_id").asString();
                assertThat(stored.path("sha256").asString()).isEqualTo(sha256Of(requestId));
                assertThat(Files.size(archive.resolve("jobs").resolve(id + ".mp4"))).isEqualTo(VIDEO_BYTES);
                assertThat(peakHeap).as("heap in use while copying %d MiB", VIDEO_BYTES >> 20).isPositive()
                        .isLessThan(HEAP_BYTES);
            } finally {
                process.destroy();
                process.waitFor();
                try (var files = Files.walk(archive)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
                }
            }
        }
    }

    private Process start(int port, int managementPort, FalSimulator fal, Path archive) throws IOException {
        Path log = Path.of("target", "test-logs", "archive-memory-" + System.nanoTime() + ".log");
        Files.createDirectories(log.getParent());
        ProcessBuilder builder = new ProcessBuilder(PackagedJar.java().toString(), "-Xmx160m", "-jar",
                PackagedJar.path().toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(name -> name.startsWith("FAL") || name.startsWith("SPRING_"));
        TestDatabase.Connection db = TestDatabase.get();
        env.putAll(Map.of("SERVER_PORT", Integer.toString(port), "MANAGEMENT_SERVER_PORT", Integer.toString(managementPort),
                "FAL_KEY", FAL_KEY, "FALGATE_ADMIN_KEY", ADMIN_KEY, "FAL_QUEUE_URL", fal.baseUrl().toString(),
                "FAL_API_URL", fal.baseUrl() + "/v1", "FALGATE_FAL_POLL_INTERVAL", "200ms",
                "FALGATE_ARCHIVE_DIR", archive.toString(), "FALGATE_ARCHIVE_ALLOWED_HOSTS", fal.baseUrl().toString()));
        env.put("SPRING_DATASOURCE_URL", db.url());
        env.put("SPRING_DATASOURCE_USERNAME", db.username());
        env.put("SPRING_DATASOURCE_PASSWORD", db.password());
        return builder.start();
    }

    private void awaitReady(URI gateway) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(150));
        while (Instant.now().isBefore(deadline)) {
            try {
                if (http.send(HttpRequest.newBuilder(gateway.resolve("/actuator/health/readiness")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the gateway was not ready within 150 s");
    }

    private HttpResponse<String> call(HttpRequest.Builder request) throws IOException, InterruptedException {
        return http.send(request.header("Authorization", "Bearer " + ADMIN_KEY).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The JVM's heap in use, as its Prometheus metrics report it (every heap pool summed). */
    private long heapInUse(int managementPort) throws IOException, InterruptedException {
        String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort
                + "/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
        return (long) metrics.lines().filter(line -> line.startsWith("jvm_memory_used_bytes{")
                        && line.contains("area=\"heap\""))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
    }

    private static String sha256Of(String requestId) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (OutputStream out = new DigestOutputStream(OutputStream.nullOutputStream(), digest)) {
            FalSimulator.writeMedia(requestId, VIDEO_BYTES, out);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
