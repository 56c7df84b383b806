package dev.falgate.archive;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Copies of output videos (api.md, "Results that outlive fal's CDN").
 *
 * @param mode          {@code local} (a directory), {@code s3} or {@code off} ({@code FALGATE_ARCHIVE}); when unset,
 *                      {@code s3} if a bucket is configured, else {@code local}
 * @param dir           the local directory ({@code FALGATE_ARCHIVE_DIR})
 * @param s3Bucket      the bucket ({@code FALGATE_ARCHIVE_S3_BUCKET})
 * @param s3Endpoint    a custom endpoint for S3-compatible stores ({@code FALGATE_ARCHIVE_S3_ENDPOINT}); AWS's own when
 *                      unset
 * @param s3Region      the region ({@code FALGATE_ARCHIVE_S3_REGION})
 * @param s3PathStyle   path-style addressing ({@code bucket} in the path, as MinIO and most S3-compatible stores want)
 * @param allowedHosts  what may be fetched: host patterns ({@code *.fal.media}, https only) or whole origins
 *                      ({@code http://127.0.0.1:8099}) ({@code FALGATE_ARCHIVE_ALLOWED_HOSTS})
 * @param maxBytes      the largest video copied ({@code FALGATE_ARCHIVE_MAX_BYTES})
 * @param retryFor      how long a failing copy is retried before it is marked failed
 * @param retryBase     the first retry's delay, doubled each time up to {@code retryCap}
 * @param retryCap      the longest delay between two attempts
 * @param lease         how long one instance holds a copy it works on
 */
@ConfigurationProperties("falgate.archive")
record ArchiveSettings(String mode, String dir, String s3Bucket, URI s3Endpoint, String s3Region,
        @DefaultValue("true") boolean s3PathStyle,
        @DefaultValue({"*.fal.media", "fal.media", "storage.googleapis.com"}) List<String> allowedHosts,
        @DefaultValue("512MB") org.springframework.util.unit.DataSize maxBytes,
        @DefaultValue("24h") Duration retryFor, @DefaultValue("5s") Duration retryBase,
        @DefaultValue("10m") Duration retryCap, @DefaultValue("10m") Duration lease) {

    static final String OFF = "off";
    static final String LOCAL = "local";
    static final String S3 = "s3";

    /** The mode in force: as set, else s3 when a bucket is named, else local. */
    String effectiveMode() {
        if (mode != null && !mode.isBlank()) {
            return mode.strip().toLowerCase(java.util.Locale.ROOT);
        }
        return s3Bucket != null && !s3Bucket.isBlank() ? S3 : LOCAL;
    }
}
