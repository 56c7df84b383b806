package dev.falgate.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.web.reactive.function.client.WebClient;

import dev.falgate.MutableClock;
import tools.jackson.databind.json.JsonMapper;

/**
 * While fal's JWKS is down, a flood of deliveries whose signature no cached key verifies (forged ones, say) makes
 * at most one fetch at a time, remembered failures back off, and no delivery waits for another's fetch.
 */
@Timeout(60)
class FalSigningKeysTest {

    /** A real Ed25519 public key (RFC 8032, test 1), base64url. */
    private static final String JWKS = "{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", "
            + "\"x\": \"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

    private final AtomicInteger fetches = new AtomicInteger();
    private final AtomicBoolean up = new AtomicBoolean(false);
    private final CountDownLatch answer = new CountDownLatch(1);
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-06T12:00:00Z"));
    private HttpServer jwks;
    private FalSigningKeys keys;

    @BeforeEach
    void startJwks() throws IOException {
        jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        jwks.setExecutor(Executors.newCachedThreadPool());
        jwks.createContext("/jwks.json", exchange -> {
            fetches.incrementAndGet();
            try {
                answer.await(5, TimeUnit.SECONDS); // a slow JWKS: the fetch stays in flight until the test lets it end
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = (up.get() ? JWKS : "<html>503</html>").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(up.get() ? 200 : 503, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        jwks.start();
        URI url = URI.create("http://127.0.0.1:" + jwks.getAddress().getPort() + "/jwks.json");
        keys = new FalSigningKeys(new WebhookSettings(url, Duration.ofSeconds(300), Duration.ofHours(1),
                Duration.ofSeconds(30)), WebClient.builder(), JsonMapper.builder().build(), clock);
    }

    @AfterEach
    void stopJwks() {
        jwks.stop(0);
    }

    @Test
    void aFloodOfUnknownSignaturesWhileTheJwksIsDownFetchesOnceAndBacksOff() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(20);
        List<CompletableFuture<Integer>> deliveries = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            deliveries.add(CompletableFuture.supplyAsync(() -> keys.afterUnknownKey().size(), threads));
        }
        // the one fetch hangs in the JWKS: the other 19 deliveries are answered meanwhile, none waits for it
        long done = 0;
        for (int i = 0; i < 400 && done < 19; i++) {
            Thread.sleep(10); // waiting for the deliveries to finish (an event), not for time to pass
            done = deliveries.stream().filter(CompletableFuture::isDone).count();
        }
        assertThat(done).as("deliveries answered while the fetch is in flight").isEqualTo(19);
        answer.countDown();
        for (CompletableFuture<Integer> delivery : deliveries) {
            assertThat(delivery.get()).isZero();
        }
        threads.shutdown();
        assertThat(fetches.get()).as("one fetch for 20 deliveries").isEqualTo(1);

        clock.advance(Duration.ofSeconds(45));
        keys.afterUnknownKey();
        assertThat(fetches.get()).as("after a failure the next try waits twice the minimum").isEqualTo(1);

        clock.advance(Duration.ofSeconds(20));
        keys.afterUnknownKey();
        assertThat(fetches.get()).isEqualTo(2);

        up.set(true);
        clock.advance(Duration.ofSeconds(100));
        keys.afterUnknownKey();
        assertThat(fetches.get()).as("two failures in a row: 120 s").isEqualTo(2);
        clock.advance(Duration.ofSeconds(25));
        assertThat(keys.afterUnknownKey()).as("fetched once fal's JWKS answers again").hasSize(1);
        assertThat(keys.current()).hasSize(1);
        assertThat(fetches.get()).isEqualTo(3);
    }
}
