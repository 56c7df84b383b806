package dev.falgate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Runs after the whole test suite (failsafe, after surefire) and reads everything the application
 * logged during it: neither the fal key, nor the admin key, nor any API key secret the tests created may
 * appear anywhere, whole or in part.
 */
class SecretsNeverLoggedIT {

    @Test
    void noLogLineOfTheSuiteContainsTheFalKeyOrTheAdminKey() throws IOException {
        Path suiteLog = Path.of(System.getProperty("falgate.suite.log", "target/test-logs/suite.log"));
        assertThat(suiteLog).as("the suite's log (run the tests first: ./mvnw verify)").exists();
        String log = Files.readString(suiteLog);
        assertThat(log).as("the suite ran jobs to their ends").contains("-> completed", "-> failed", "-> submitted");

        List<String> secrets = new java.util.ArrayList<>(List.of(IntegrationTest.FAL_KEY, IntegrationTest.ADMIN_KEY));
        secrets.addAll(GeneratedSecrets.all());
        assertThat(secrets).as("API keys the tests created").hasSizeGreaterThan(2);
        for (String text : everythingLogged(suiteLog)) {
            for (String secret : secrets) {
                assertThat(text).doesNotContain(secret);
                // a secret cut in two (by wrapping, or "Key abc...") is still a leak
                assertThat(text).doesNotContain(secret.substring(0, secret.length() / 2));
                assertThat(text).doesNotContain(secret.substring(secret.length() / 2));
            }
        }
    }

    private static List<String> everythingLogged(Path suiteLog) throws IOException {
        Path reports = Path.of("target", "surefire-reports");
        try (Stream<Path> files = Files.exists(reports) ? Files.list(reports) : Stream.empty()) {
            return Stream.concat(Stream.of(suiteLog), files.filter(Files::isRegularFile))
                    .map(SecretsNeverLoggedIT::read).toList();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
