package dev.falgate.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator;
import tools.jackson.databind.JsonNode;

/**
 * Results that outlive fal's CDN (api.md): a completed job's video is copied into falgate's archive, driven from
 * the database, and served from there with ranges and ETags after fal deleted its file; the copy never changes the
 * job's status or cost, and only allowed hosts are fetched.
 */
class ArchiveTest extends IntegrationTest {

    @BeforeEach
    void falServesItsOutputFiles() {
        fal.serveMedia();
    }

    @Test
    void aCompletedJobsVideoIsCopiedAndServedAfterFalDeletedIt() throws Exception {
        String id = completedJob();
        String requestId = job(id).path("fal_request_id").asString();
        assertThat(send(request("/v1/jobs/" + id + "/video").GET()).statusCode()).as("not copied yet").isEqualTo(404);

        runArchive();
        fal.deleteMedia(requestId); // fal's retention ran out

        HttpResponse<byte[]> video = http(request("/v1/jobs/" + id + "/video").GET());
        byte[] expected = FalSimulator.mediaOf(requestId);
        assertThat(video.statusCode()).isEqualTo(200);
        assertThat(video.body()).isEqualTo(expected);
        assertThat(video.headers().firstValue("Content-Type")).hasValue("video/mp4");
        assertThat(video.headers().firstValue("Accept-Ranges")).hasValue("bytes");
        assertThat(video.headers().firstValue("ETag")).hasValue("\"" + sha256(expected) + "\"");
        JsonNode job = job(id);
        assertThat(job.path("status").asString()).isEqualTo("completed");
        assertThat(job.path("cost_usd").asString()).as("copying costs nothing").isEqualTo("0.12");
    }

    @Test
    void rangesAndETagsAreAnsweredAsAVideoElementNeedsThem() throws Exception {
        String id = completedJob();
        runArchive();
        byte[] expected = FalSimulator.mediaOf(job(id).path("fal_request_id").asString());

        HttpResponse<byte[]> middle = http(request("/v1/jobs/" + id + "/video").header("Range", "bytes=1000-1999").GET());
        assertThat(middle.statusCode()).isEqualTo(206);
        assertThat(middle.body()).isEqualTo(Arrays.copyOfRange(expected, 1000, 2000));
        assertThat(middle.headers().firstValue("Content-Range")).hasValue("bytes 1000-1999/" + expected.length);

        HttpResponse<byte[]> tail = http(request("/v1/jobs/" + id + "/video").header("Range", "bytes=-500").GET());
        assertThat(tail.statusCode()).isEqualTo(206);
        assertThat(tail.body()).isEqualTo(Arrays.copyOfRange(expected, expected.length - 500, expected.length));

        HttpResponse<byte[]> open = http(request("/v1/jobs/" + id + "/video").header("Range", "bytes=299000-").GET());
        assertThat(open.body()).isEqualTo(Arrays.copyOfRange(expected, 299_000, expected.length));

        assertThat(http(request("/v1/jobs/" + id + "/video").header("Range", "bytes=400000-").GET()).statusCode())
                .isEqualTo(416);
        String etag = middle.headers().firstValue("ETag").orElseThrow();
        assertThat(http(request("/v1/jobs/" + id + "/video").header("If-None-Match", etag).GET()).statusCode())
                .isEqualTo(304);
    }

    @Test
    void theJobResourceShowsTheArchivedCopyWithASignedUrlThatPlaysWithoutAKey() throws Exception {
        String id = completedJob();
        assertThat(job(id).path("result").path("video").path("archive").path("status").asString()).isEqualTo("pending");
        runArchive();

        JsonNode archive = job(id).path("result").path("video").path("archive");
        byte[] expected = FalSimulator.mediaOf(job(id).path("fal_request_id").asString());
        assertThat(archive.path("status").asString()).isEqualTo("stored");
        assertThat(archive.path("url").asString()).isEqualTo("/v1/jobs/" + id + "/video");
        assertThat(archive.path("sha256").asString()).isEqualTo(sha256(expected));
        assertThat(archive.path("bytes").asLong()).isEqualTo(expected.length);
        assertThat(archive.path("content_type").asString()).isEqualTo("video/mp4");
        assertThat(body(get("/v1/jobs?limit=200")).path("data").valueStream()
                .filter(j -> j.path("id").asString().equals(id)).findFirst().orElseThrow()
                .path("result").path("video").path("archive").path("status").asString())
                .as("the history shows it too").isEqualTo("stored");

        String signed = archive.path("signed_url").asString();
        HttpResponse<byte[]> played = http(as(null, signed).header("Range", "bytes=0-99").GET());
        assertThat(played.statusCode()).as("no Authorization header").isEqualTo(206);
        assertThat(played.body()).isEqualTo(Arrays.copyOfRange(expected, 0, 100));

        String tampered = signed.substring(0, signed.length() - 2) + (signed.endsWith("A") ? "BB" : "AA");
        assertThat(http(as(null, tampered).GET()).statusCode()).isEqualTo(403);
        String otherJob = completedJob();
        assertThat(http(as(null, signed.replace(id, otherJob)).GET()).statusCode()).as("signed for one path only")
                .isEqualTo(403);
        assertThat(http(as(null, "/v1/jobs/" + id + "/video").GET()).statusCode()).isEqualTo(401);
        clock.advance(Duration.ofHours(1).plusSeconds(1));
        assertThat(http(as(null, signed).GET()).statusCode()).as("expired").isEqualTo(403);
    }

    @Test
    void aCopyThatFailsIsRetriedWithBackoffAndNeverTouchesTheJob() {
        String id = completedJob();
        String requestId = job(id).path("fal_request_id").asString();
        fal.deleteMedia(requestId); // the CDN answers 404 for now

        runArchive();
        assertThat(archiveRow(id, "status")).isEqualTo("pending");
        assertThat(archiveRow(id, "last_error")).contains("404");
        assertThat(job(id).path("status").asString()).isEqualTo("completed");

        fal.reset();
        fal.serveMedia();
        runArchive();
        assertThat(archiveRow(id, "status")).as("not due yet: backoff").isEqualTo("pending");
        clock.advance(Duration.ofMinutes(1));
        runArchive();
        assertThat(archiveRow(id, "status")).isEqualTo("stored");
        assertThat(archiveRow(id, "attempts")).isEqualTo("2");
    }

    @Test
    void onlyAllowedHostsAreFetched() {
        String id = completedJob();
        jdbc.sql("update video_archive set source_url = 'https://evil.example/steal.mp4' where job_id = ?::uuid")
                .param(id).update();

        runArchive();

        assertThat(archiveRow(id, "status")).as("refused for good, not retried").isEqualTo("failed");
        assertThat(archiveRow(id, "last_error")).contains("FALGATE_ARCHIVE_ALLOWED_HOSTS");
    }

    // --- helpers ------------------------------------------------------------------------------------

    private String completedJob() {
        String id = submitJob(UUID.randomUUID().toString());
        runWorker();
        clock.advance(Duration.ofSeconds(3));
        runWorker();
        clock.advance(Duration.ofSeconds(3));
        runWorker();
        assertThat(job(id).path("status").asString()).isEqualTo("completed");
        return id;
    }

    private String archiveRow(String jobId, String column) {
        return jdbc.sql("select " + column + "::text from video_archive where job_id = ?::uuid").param(jobId)
                .query(String.class).single();
    }

    private HttpResponse<byte[]> http(java.net.http.HttpRequest.Builder request) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
