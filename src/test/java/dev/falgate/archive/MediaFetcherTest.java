package dev.falgate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.web.reactive.function.client.WebClient;

import dev.falgate.web.AllowedHosts;

/**
 * Downloading an output file: only from allowed origins, redirects followed only within them, never past the size
 * cap, whether the file declares its size or not.
 */
class MediaFetcherTest {

    private static final int CAP = 1024 * 1024;

    private HttpServer cdn;
    private HttpServer elsewhere;
    private Path into;

    @BeforeEach
    void start() throws IOException {
        cdn = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 10);
        elsewhere = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 10);
        cdn.createContext("/small.mp4", exchange -> answer(exchange, 200, 4096, true));
        cdn.createContext("/declared-too-big.mp4", exchange -> answer(exchange, 200, CAP + 1, true));
        cdn.createContext("/chunked-too-big.mp4", exchange -> answer(exchange, 200, 3 * CAP, false));
        cdn.createContext("/moved", exchange -> redirect(exchange, "/small.mp4"));
        cdn.createContext("/moved-away", exchange -> redirect(exchange, origin(elsewhere) + "/small.mp4"));
        cdn.createContext("/loop", exchange -> redirect(exchange, "/loop"));
        elsewhere.createContext("/", exchange -> answer(exchange, 200, 10, true));
        cdn.start();
        elsewhere.start();
        into = Files.createTempFile("media-fetcher-test", ".part");
    }

    @AfterEach
    void stop() throws IOException {
        cdn.stop(0);
        elsewhere.stop(0);
        Files.deleteIfExists(into);
    }

    @Test
    void aFileIsFetchedWithItsSizeAndHashFollowingRedirectsWithinTheAllowList() throws Exception {
        MediaFetcher.Fetched fetched = fetcher().fetch(URI.create(origin(cdn) + "/moved"), into);

        assertThat(fetched.bytes()).isEqualTo(4096);
        assertThat(fetched.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(new byte[4096])));
        assertThat(fetched.contentType()).isEqualTo("video/mp4");
    }

    @Test
    void filesOverTheCapAreRefusedWhetherDeclaredOrNot() {
        assertThatThrownBy(() -> fetcher().fetch(URI.create(origin(cdn) + "/declared-too-big.mp4"), into))
                .isInstanceOf(MediaFetcher.Refused.class).hasMessageContaining("FALGATE_ARCHIVE_MAX_BYTES");
        assertThatThrownBy(() -> fetcher().fetch(URI.create(origin(cdn) + "/chunked-too-big.mp4"), into))
                .isInstanceOf(MediaFetcher.Refused.class).hasMessageContaining("grew past");
    }

    @Test
    void hostsAndRedirectsOffTheAllowListAreRefused() {
        assertThatThrownBy(() -> fetcher().fetch(URI.create(origin(elsewhere) + "/small.mp4"), into))
                .isInstanceOf(MediaFetcher.Refused.class).hasMessageContaining("FALGATE_ARCHIVE_ALLOWED_HOSTS");
        assertThatThrownBy(() -> fetcher().fetch(URI.create(origin(cdn) + "/moved-away"), into))
                .isInstanceOf(MediaFetcher.Refused.class).hasMessageContaining("FALGATE_ARCHIVE_ALLOWED_HOSTS");
        assertThatThrownBy(() -> fetcher().fetch(URI.create(origin(cdn) + "/loop"), into))
                .isInstanceOf(MediaFetcher.Refused.class).hasMessageContaining("redirects");
        assertThatThrownBy(() -> fetcher().fetch(URI.create("http://user:pw@127.0.0.1:" + cdn.getAddress().getPort()
                + "/small.mp4"), into)).isInstanceOf(MediaFetcher.Refused.class);
    }

    private MediaFetcher fetcher() {
        return new MediaFetcher(WebClient.create(), new AllowedHosts(List.of(origin(cdn))), CAP);
    }

    private static String origin(HttpServer server) {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, int bytes, boolean declare)
            throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "video/mp4");
        exchange.sendResponseHeaders(status, declare ? bytes : 0);
        try (OutputStream out = exchange.getResponseBody()) {
            byte[] chunk = new byte[8192];
            for (int sent = 0; sent < bytes; sent += chunk.length) {
                out.write(chunk, 0, Math.min(chunk.length, bytes - sent));
            }
        } catch (IOException e) {
            // the fetcher stopped reading at the cap
        }
    }

    private static void redirect(com.sun.net.httpserver.HttpExchange exchange, String location) throws IOException {
        exchange.getResponseHeaders().set("Location", location);
        exchange.sendResponseHeaders(302, -1);
        exchange.close();
    }
}
