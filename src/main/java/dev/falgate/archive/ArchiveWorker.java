package dev.falgate.archive;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.client.WebClient;

import dev.falgate.BackgroundLoop;
import dev.falgate.RetryBackoff;
import dev.falgate.sandbox.Sandbox;
import dev.falgate.web.AllowedHosts;

/**
 * Copies completed jobs' videos into the archive, driven from the database: claims due copies under a lease (any
 * number of instances share the work), downloads each through {@link MediaFetcher} on one of its own threads (at
 * most {@link #CONCURRENCY} at once), checks its size against what fal reported, stores it, and records the outcome
 * only while the lease is still its own. A failed copy is retried with exponential backoff and jitter until its
 * {@code give_up_at}, then marked failed; one that can't succeed (a host off the allow-list, a file over the cap) is
 * failed at once. Runs on a {@link BackgroundLoop} of its own; tests call {@link #runOnce()} and {@link #awaitIdle()}.
 */
@Component
class ArchiveWorker implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ArchiveWorker.class);
    static final int CONCURRENCY = 4;

    private final Archive archive;
    private final ArchiveCopies copies;
    private final ArchiveSettings settings;
    private final MediaFetcher fetcher;
    private final Clock clock;
    private final boolean enabled;
    private final RetryBackoff backoff;
    private final Sandbox sandbox;
    private final MeterRegistry meters;
    private final Semaphore free = new Semaphore(CONCURRENCY);
    private final ExecutorService copiers = Executors.newFixedThreadPool(CONCURRENCY, task -> {
        Thread thread = new Thread(task, "falgate-archive");
        thread.setDaemon(true);
        return thread;
    });
    private final BackgroundLoop loop = new BackgroundLoop("falgate-archive-loop", this::runOnce, Duration.ofSeconds(1));

    ArchiveWorker(Archive archive, ArchiveCopies copies, ArchiveSettings settings, WebClient.Builder web, Clock clock,
            MeterRegistry meters, Sandbox sandbox, @Value("${falgate.worker.enabled:true}") boolean enabled) {
        this.meters = meters;
        this.archive = archive;
        this.copies = copies;
        this.settings = settings;
        this.sandbox = sandbox;
        this.fetcher = new MediaFetcher(web.build(), new AllowedHosts(settings.allowedHosts()),
                settings.maxBytes().toBytes());
        this.clock = clock;
        this.enabled = enabled;
        this.backoff = new RetryBackoff(settings.retryBase(), settings.retryCap());
    }

    /**
     * One turn of the loop, as tests step it: claims as many due copies as there are free copying threads and
     * starts them. Returns how many it started.
     */
    int runOnce() {
        if (!archive.isOn() || free.availablePermits() == 0) {
            return 0;
        }
        Instant now = clock.instant();
        List<ArchiveCopies.Claim> claimed = copies.claimDue(free.availablePermits(), now, now.plus(settings.lease()));
        for (ArchiveCopies.Claim claim : claimed) {
            free.acquireUninterruptibly();
            copiers.execute(() -> {
                try {
                    copy(claim);
                } catch (RuntimeException e) { // the outcome could not be written: the lease runs out, a copy is tried again
                    log.warn("Job {}: archive copy ended without its outcome recorded: {}", claim.jobId(), e.toString());
                } finally {
                    free.release();
                }
            });
        }
        return claimed.size();
    }

    /** Waits until every copy this instance started has ended. */
    void awaitIdle() {
        free.acquireUninterruptibly(CONCURRENCY);
        free.release(CONCURRENCY);
    }

    /** Whether this instance copies and its loop is alive (not whether copies succeed: fal's CDN may fail). */
    boolean isLive() {
        return !enabled || !archive.isOn() || loop.isLive(Duration.ofMinutes(1));
    }

    @Override
    public void start() {
        if (enabled && archive.isOn()) {
            loop.start();
        }
    }

    @Override
    public void stop() {
        loop.stop();
    }

    @Override
    public boolean isRunning() {
        return loop.isRunning();
    }

    private void copy(ArchiveCopies.Claim claim) {
        Path temp = null;
        try {
            temp = Files.createTempFile("falgate-video-", ".part");
            MediaFetcher.Fetched fetched = sandbox.isSample(claim.sourceUrl())
                    ? sample(temp) // a sandbox job's video: the sample every instance holds, nothing to download
                    : fetcher.fetch(URI.create(claim.sourceUrl()), temp);
            if (claim.expectedBytes() != null && claim.expectedBytes() != fetched.bytes()) {
                throw new IOException("fal reported " + claim.expectedBytes() + " bytes, the CDN sent " + fetched.bytes());
            }
            String key = "jobs/" + claim.jobId() + ".mp4";
            archive.store().put(key, fetched.file(), fetched.contentType());
            if (copies.stored(claim, key, fetched.sha256(), fetched.bytes(), fetched.contentType(), clock.instant())) {
                counted("stored");
                log.info("Job {}: video archived ({} bytes, sha256 {})", claim.jobId(), fetched.bytes(), fetched.sha256());
            }
        } catch (MediaFetcher.Refused e) {
            log.warn("Job {}: video not archived, and not retried: {}", claim.jobId(), e.getMessage());
            copies.failed(claim, e.getMessage(), clock.instant());
            counted("failed");
        } catch (IOException | RuntimeException e) {
            Instant now = clock.instant();
            Instant next = now.plus(backoff.after(claim.attempts()));
            if (next.isAfter(claim.giveUpAt())) {
                log.warn("Job {}: video not archived after {} attempts: {}", claim.jobId(), claim.attempts(), e.toString());
                copies.failed(claim, String.valueOf(e.getMessage()), now);
                counted("failed");
            } else {
                log.info("Job {}: archiving the video failed (attempt {}), retrying at {}: {}", claim.jobId(),
                        claim.attempts(), next, e.toString());
                copies.retry(claim, String.valueOf(e.getMessage()), next);
                counted("retry");
            }
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException e) {
                    log.warn("Could not delete {}: {}", temp, e.toString());
                }
            }
        }
    }

    private void counted(String outcome) {
        Counter.builder("falgate.archive.copies").description("Attempts to copy an output video, by outcome")
                .tag("outcome", outcome).register(meters).increment();
    }

    private MediaFetcher.Fetched sample(Path into) throws IOException {
        byte[] video = sandbox.sample();
        Files.write(into, video);
        try {
            return new MediaFetcher.Fetched(into, video.length, java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(video)), "video/mp4");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
