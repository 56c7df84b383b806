package dev.falgate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/** API key secrets the tests made, written down so SecretsNeverLoggedIT can search the suite's log for them. */
public final class GeneratedSecrets {

    private static final Path FILE = Path.of("target", "test-logs", "generated-secrets.txt");

    private GeneratedSecrets() {
    }

    public static synchronized void remember(String secret) {
        try {
            Files.createDirectories(FILE.getParent());
            Files.writeString(FILE, secret + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> all() throws IOException {
        return Files.exists(FILE) ? Files.readAllLines(FILE) : List.of();
    }
}
