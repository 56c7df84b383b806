package dev.falgate.archive;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.client.WebClient;

import dev.falgate.RetryBackoff;
import dev.falgate.web.AllowedHosts;

/**
 * Copies completed jobs' videos into the archive, driven from the database: claims due copies under a lease (any
 * number of instances share the work), downloads each through {@link MediaFetcher}, checks its size against what
 * fal reported, stores it, and records the outcome only while the lease is still its own. A failed copy is retried
 * with exponential backoff and jitter until its {@code give_up_at}, then marked failed; one that can't succeed (a
 * host off the allow-list, a file over the cap) is failed at once. Tests call {@link #runOnce()}.
 */
@Component
class ArchiveWorker {

    private static final Logger log = LoggerFactory.getLogger(ArchiveWorker.class);
    private static final int BATCH = 4;

    private final Archive archive;
    private final ArchiveCopies copies;
    private final ArchiveSettings settings;
    private final MediaFetcher fetcher;
    private final Clock clock;
    private final boolean enabled;
    private final RetryBackoff backoff;
    private final MeterRegistry meters;

    ArchiveWorker(Archive archive, ArchiveCopies copies, ArchiveSettings settings, WebClient.Builder web, Clock clock,
            MeterRegistry meters, @Value("${falgate.worker.enabled:true}") boolean enabled) {
        this.meters = meters;
        this.archive = archive;
        this.copies = copies;
        this.settings = settings;
        this.fetcher = new MediaFetcher(web.build(), new AllowedHosts(settings.allowedHosts()),
                settings.maxBytes().toBytes());
        this.clock = clock;
        this.enabled = enabled;
        this.backoff = new RetryBackoff(settings.retryBase(), settings.retryCap());
    }

    @Scheduled(fixedDelay = 1_000)
    void tick() {
        if (enabled && archive.isOn()) {
            try {
                runOnce();
            } catch (RuntimeException e) {
                log.warn("Archive round failed; trying again shortly: {}", e.toString());
            }
        }
    }

    /** One round, as tests step it: copies what is due now. Returns how many copies it worked on. */
    int runOnce() {
        if (!archive.isOn()) {
            return 0;
        }
        Instant now = clock.instant();
        List<ArchiveCopies.Claim> claimed = copies.claimDue(BATCH, now, now.plus(settings.lease()));
        claimed.forEach(this::copy);
        return claimed.size();
    }

    private void copy(ArchiveCopies.Claim claim) {
        Path temp = null;
        try {
            temp = Files.createTempFile("falgate-video-", ".part");
            MediaFetcher.Fetched fetched = fetcher.fetch(URI.create(claim.sourceUrl()), temp);
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
}
