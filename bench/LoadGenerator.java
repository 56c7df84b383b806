import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * falgate's load generator (run by bench/run as a single-file program, HdrHistogram on the class path).
 *
 * rate MODE URL KEY RPS SECONDS [IDS_FILE]: open loop at a fixed offered rate; each latency is measured
 *   from the moment the request was due to be sent, so a stalled server cannot hide its queueing
 *   (no coordinated omission).
 * max MODE URL KEY CONCURRENCY SECONDS [IDS_FILE]: closed loop, CONCURRENCY requests always in flight.
 * MODE is "submit" (POST a new job) or "get" (GET the URL; "{id}" is replaced by a random line of IDS_FILE).
 * Both loops first run WARMUP_SECONDS (environment, default 5) unrecorded, so the JIT of both processes is
 * warm and the figures describe the steady state; the warm-up is not part of SECONDS.
 * Prints one JSON line.
 */
public class LoadGenerator {

    private static final String BODY = "{\"input\": {\"prompt\": \"Woman walking on a street in Tokyo %d\", "
            + "\"video\": {\"video_url\": \"https://storage.googleapis.com/falserverless/web-examples/wan/t2v.mp4\", "
            + "\"start_frame_num\": 24}}, \"metadata\": {\"order_id\": \"A-%d\"}}";

    public static void main(String[] args) throws Exception {
        String loop = args[0];
        String mode = args[1];
        String url = args[2];
        String key = args[3];
        int amount = Integer.parseInt(args[4]);
        Duration duration = Duration.ofSeconds(Long.parseLong(args[5]));
        List<String> ids = args.length > 6 ? Files.readAllLines(Path.of(args[6])) : List.of();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        Histogram latencies = new ConcurrentHistogram(Duration.ofMinutes(1).toNanos(), 3);
        AtomicLong ok = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicLong sequence = new AtomicLong();
        long warmup = Duration.ofSeconds(Long.parseLong(System.getenv().getOrDefault("WARMUP_SECONDS", "5"))).toNanos();
        long begun = System.nanoTime();
        long started = begun + warmup; // what happens before this is not recorded
        long end = started + duration.toNanos();

        if (loop.equals("rate")) {
            long interval = 1_000_000_000L / amount;
            long total = (warmup + duration.toNanos()) / interval;
            CountDownLatch done = new CountDownLatch((int) total);
            for (long i = 0; i < total; i++) {
                long due = begun + i * interval;
                boolean recorded = due >= started;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
                http.sendAsync(request(mode, url, key, ids, sequence.incrementAndGet()), HttpResponse.BodyHandlers.discarding())
                        .whenComplete((response, failure) -> {
                            if (recorded) {
                                latencies.recordValue(Math.max(0, System.nanoTime() - due));
                                (failure == null && response.statusCode() < 300 ? ok : errors).incrementAndGet();
                            }
                            done.countDown();
                        });
            }
            done.await();
        } else {
            Thread[] workers = new Thread[amount];
            for (int w = 0; w < amount; w++) {
                workers[w] = new Thread(() -> {
                    while (System.nanoTime() < end) {
                        long sent = System.nanoTime();
                        boolean recorded = sent >= started;
                        boolean success;
                        try {
                            HttpResponse<Void> response = http.send(request(mode, url, key, ids, sequence.incrementAndGet()),
                                    HttpResponse.BodyHandlers.discarding());
                            success = response.statusCode() < 300;
                        } catch (Exception e) {
                            success = false;
                        }
                        if (recorded) {
                            (success ? ok : errors).incrementAndGet();
                            latencies.recordValue(System.nanoTime() - sent);
                        }
                    }
                });
                workers[w].start();
            }
            for (Thread worker : workers) {
                worker.join();
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf(java.util.Locale.ROOT,
                "{\"loop\": \"%s\", \"mode\": \"%s\", \"offered\": %d, \"seconds\": %.1f, \"ok\": %d, \"errors\": %d, "
                        + "\"achieved_rps\": %.1f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"p999_ms\": %.2f, \"max_ms\": %.2f}%n",
                loop, mode, amount, seconds, ok.get(), errors.get(), ok.get() / seconds,
                latencies.getValueAtPercentile(50) / 1e6, latencies.getValueAtPercentile(99) / 1e6,
                latencies.getValueAtPercentile(99.9) / 1e6, latencies.getMaxValue() / 1e6);
    }

    private static HttpRequest request(String mode, String url, String key, List<String> ids, long n) {
        if (mode.equals("submit")) {
            return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(String.format(BODY, n, n))).build();
        }
        String target = ids.isEmpty() ? url : url.replace("{id}", ids.get(ThreadLocalRandom.current().nextInt(ids.size())));
        return HttpRequest.newBuilder(URI.create(target)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + key).GET().build();
    }
}
