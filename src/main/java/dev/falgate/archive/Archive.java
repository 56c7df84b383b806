package dev.falgate.archive;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.io.Resource;
import org.springframework.stereotype.Component;

/**
 * falgate's own copies of output videos (api.md, "Results that outlive fal's CDN"): the job asks for one in the
 * transaction that completes it ({@link #requestCopy}); {@link ArchiveWorker} copies it on any instance; readers
 * get the stored bytes ({@link #storedVideo}). A copy never changes its job's status or cost.
 */
@Component
public class Archive implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(Archive.class);

    private final ArchiveCopies copies;
    private final ArchiveSettings settings;
    private final Clock clock;
    /** Null when the archive is off. */
    private final VideoStore store;

    Archive(ArchiveCopies copies, ArchiveSettings settings, Clock clock, MeterRegistry meters) throws IOException {
        this.copies = copies;
        this.settings = settings;
        this.clock = clock;
        this.store = switch (settings.effectiveMode()) {
            case ArchiveSettings.OFF -> null;
            case ArchiveSettings.S3 -> S3VideoStore.connect(settings);
            case ArchiveSettings.LOCAL -> new LocalVideoStore(Path.of(settings.dir()));
            default -> throw new IllegalStateException("FALGATE_ARCHIVE must be local, s3 or off, not '"
                    + settings.mode() + "'");
        };
        if (store != null) {
            Gauge.builder("falgate.archive.backlog", copies, c -> c.backlog(clock.instant()).pending())
                    .description("Video copies waiting to be made (due or backing off)").register(meters);
        }
        log.info("Archive of output videos: {}", switch (settings.effectiveMode()) {
            case ArchiveSettings.OFF -> "off";
            case ArchiveSettings.S3 -> "S3 bucket " + settings.s3Bucket();
            default -> "directory " + Path.of(settings.dir()).toAbsolutePath();
        });
    }

    /** A stored copy, as served: the bytes and what is known about them. */
    public record StoredVideo(Resource resource, String sha256, long bytes, String contentType, Instant storedAt) {
    }

    /**
     * What the job resource shows as {@code result.video.archive} (api.md): {@code pending} while copying,
     * {@code stored} with where and what, {@code failed} with why.
     */
    public record View(String status, String url, String sha256, Long bytes, String contentType, Instant storedAt,
            String reason) {
    }

    /** The archive's view of each of these jobs that has a copy (asked for, stored or failed). */
    public java.util.Map<UUID, View> viewsOf(java.util.Collection<UUID> jobIds) {
        java.util.Map<UUID, View> views = new java.util.HashMap<>();
        copies.ofAll(jobIds).forEach((jobId, copy) -> views.put(jobId, switch (copy.status()) {
            case "stored" -> new View("stored", "/v1/jobs/" + jobId + "/video", copy.sha256(), copy.bytes(),
                    copy.contentType(), copy.storedAt(), null);
            case "failed" -> new View("failed", null, null, null, null, null, copy.lastError());
            default -> new View("pending", null, null, null, null, null, null);
        }));
        return views;
    }

    boolean isOn() {
        return store != null;
    }

    VideoStore store() {
        return store;
    }

    /** Asks for a copy of a completed job's video; call it in the transaction that completes the job. */
    public void requestCopy(UUID jobId, String sourceUrl, Long expectedBytes) {
        if (store == null || sourceUrl == null || sourceUrl.isBlank()) {
            return;
        }
        Instant now = clock.instant();
        copies.request(jobId, sourceUrl, expectedBytes, now, now.plus(settings.retryFor()));
    }

    /** The stored copy of the job's video, or empty while there is none (not yet, failed, or the archive is off). */
    public Optional<StoredVideo> storedVideo(UUID jobId) throws IOException {
        if (store == null) {
            return Optional.empty();
        }
        Optional<ArchiveCopies.Copy> copy = copies.of(jobId).filter(c -> c.status().equals("stored"));
        if (copy.isEmpty()) {
            return Optional.empty();
        }
        ArchiveCopies.Copy stored = copy.get();
        return store.open(stored.storageKey()).map(resource -> new StoredVideo(resource, stored.sha256(),
                stored.bytes(), stored.contentType(), stored.storedAt()));
    }

    @Override
    public void destroy() throws Exception {
        if (store instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }
}
