package dev.falgate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Node tools some tests run (src/test/node: fal's JS client, playwright-core, axe-core), installed from npm's
 * registry into target/node once, exactly as the lock file pins them ({@code npm ci}).
 */
public final class NodeTools {

    private static final Path SOURCES = Path.of("src", "test", "node");
    private static final Path WORK = Path.of("target", "node");

    private NodeTools() {
    }

    /** The directory holding the scripts and their node_modules. */
    public static synchronized Path install() throws IOException, InterruptedException {
        Files.createDirectories(WORK);
        try (Stream<Path> files = Files.list(SOURCES)) {
            for (Path file : files.toList()) {
                Files.copy(file, WORK.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        boolean installed = Stream.of("@fal-ai/client", "playwright-core", "axe-core")
                .allMatch(name -> Files.isDirectory(WORK.resolve("node_modules").resolve(name)));
        if (!installed) {
            Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(WORK.toFile())
                    .redirectErrorStream(true).start();
            String output = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(npm.waitFor(5, TimeUnit.MINUTES) && npm.exitValue() == 0).as("npm ci:\n" + output).isTrue();
        }
        return WORK;
    }
}
