package dev.falgate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.ResourceRegion;
import org.springframework.http.HttpRange;
import org.springframework.http.MediaType;
import org.springframework.http.converter.ResourceRegionHttpMessageConverter;
import org.springframework.mock.http.MockHttpOutputMessage;
import org.springframework.util.unit.DataSize;

import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * What a {@link VideoStore} does, for every store falgate has: a local directory and an S3 bucket (s3proxy in this
 * JVM, {@link S3ProxyServer}).
 */
class VideoStoreTest {

    static final int MB = 1024 * 1024;

    enum Kind {
        LOCAL("a local directory"), S3("an S3 bucket");

        private final String description;

        Kind(String description) {
            this.description = description;
        }

        @Override
        public String toString() {
            return description;
        }
    }

    @Nested
    @ParameterizedClass(name = "in {0}")
    @EnumSource(Kind.class)
    class EveryStore {

        @Parameter
        Kind kind;

        @TempDir
        Path tmp;

        /** The store under test; for S3, a client whose GETs {@link #gets} records. */
        VideoStore store;
        S3Client s3;
        final List<Get> gets = new CopyOnWriteArrayList<>();
        /** Keys of this test only: the S3 bucket is shared by every test in the JVM. */
        final String prefix = "jobs/" + UUID.randomUUID() + "/";

        @BeforeEach
        void openStore() throws IOException {
            store = switch (kind) {
                case LOCAL -> new LocalVideoStore(tmp.resolve("archive"));
                case S3 -> {
                    s3 = S3ProxyServer.shared().clientBuilder()
                            .overrideConfiguration(c -> c.addExecutionInterceptor(new RecordGets(gets)))
                            .build();
                    yield new S3VideoStore(s3, S3ProxyServer.shared().bucket());
                }
            };
        }

        @AfterEach
        void closeStore() {
            if (s3 != null) {
                // the shared server keeps objects in memory
                s3.listObjectsV2Paginator(l -> l.bucket(S3ProxyServer.BUCKET).prefix(prefix)).contents()
                        .forEach(o -> s3.deleteObject(d -> d.bucket(S3ProxyServer.BUCKET).key(o.key())));
                s3.close();
            }
        }

        @Test
        void returnsExactlyTheBytesItStored() throws Exception {
            Path video = randomFile("video.mp4", 3 * MB, 1);

            store.put(prefix + "video.mp4", video, "video/mp4");

            Resource stored = store.open(prefix + "video.mp4").orElseThrow();
            assertThat(sha256(stored.getInputStream())).isEqualTo(sha256(Files.newInputStream(video)));
        }

        @Test
        void knowsTheLengthBeforeAnythingIsRead() throws Exception {
            Path video = randomFile("video.mp4", 3 * MB + 17, 2);
            store.put(prefix + "video.mp4", video, "video/mp4");

            Resource stored = store.open(prefix + "video.mp4").orElseThrow();

            assertThat(stored.contentLength()).isEqualTo(3 * MB + 17);
            assertThat(stored.exists()).isTrue();
            assertThat(stored.isReadable()).isTrue();
            assertThat(stored.getFilename()).isEqualTo("video.mp4");
            assertThat(gets).as("GETs sent to S3").isEmpty();
        }

        @Test
        void aReadThatStartsWithSkipStartsThereWithoutFetchingWhatItSkips() throws Exception {
            int size = 20 * MB;
            Path video = randomFile("video.mp4", size, 3);
            store.put(prefix + "video.mp4", video, "video/mp4");
            long from = size - 1000;

            byte[] tail;
            try (InputStream in = store.open(prefix + "video.mp4").orElseThrow().getInputStream()) {
                assertThat(in.skip(from)).isEqualTo(from);
                tail = in.readAllBytes();
            }

            assertThat(tail).isEqualTo(slice(video, from, 1000));
            if (kind == Kind.S3) {
                assertThat(gets).as("GETs sent to S3").containsExactly(new Get("bytes=" + from + "-", 1000L));
            }
        }

        @Test
        void servesAByteRangeAsSpringMvcAsksForIt() throws Exception {
            int size = 5 * MB;
            Path video = randomFile("video.mp4", size, 4);
            store.put(prefix + "video.mp4", video, "video/mp4");
            Resource stored = store.open(prefix + "video.mp4").orElseThrow();

            // as a controller returning the Resource does for "Range: bytes=4194304-4259839"
            List<ResourceRegion> regions = HttpRange.toResourceRegions(
                    HttpRange.parseRanges("bytes=" + 4 * MB + "-" + (4 * MB + 65535)), stored);
            MockHttpOutputMessage response = new MockHttpOutputMessage();
            new ResourceRegionHttpMessageConverter().write(regions.get(0), MediaType.parseMediaType("video/mp4"),
                    response);

            assertThat(response.getHeaders().getFirst("Content-Range"))
                    .isEqualTo("bytes " + 4 * MB + "-" + (4 * MB + 65535) + "/" + size);
            assertThat(response.getBodyAsBytes()).isEqualTo(slice(video, 4 * MB, 65536));
            if (kind == Kind.S3) {
                assertThat(gets).extracting(Get::range).containsExactly("bytes=" + 4 * MB + "-");
            }
        }

        @Test
        void aReadWithoutSkipStartsAtTheBeginning() throws Exception {
            Path video = randomFile("video.mp4", 100_000, 5);
            store.put(prefix + "video.mp4", video, "video/mp4");

            try (InputStream in = store.open(prefix + "video.mp4").orElseThrow().getInputStream()) {
                assertThat(in.readNBytes(10)).isEqualTo(slice(video, 0, 10));
                in.skip(1000);
                assertThat(in.readNBytes(10)).isEqualTo(slice(video, 1010, 10));
            }
            if (kind == Kind.S3) {
                assertThat(gets).containsExactly(new Get(null, 100_000L));
            }
        }

        @Test
        void putReplacesWhatWasStored() throws Exception {
            Path first = randomFile("first.mp4", 2 * MB, 6);
            Path second = randomFile("second.mp4", MB + 5, 7);

            store.put(prefix + "video.mp4", first, "video/mp4");
            store.put(prefix + "video.mp4", second, "video/mp4");

            Resource stored = store.open(prefix + "video.mp4").orElseThrow();
            assertThat(stored.contentLength()).isEqualTo(MB + 5);
            assertThat(sha256(stored.getInputStream())).isEqualTo(sha256(Files.newInputStream(second)));
        }

        @Test
        void keepsAnEmptyFile() throws Exception {
            Path empty = Files.createFile(tmp.resolve("empty.mp4"));

            store.put(prefix + "empty.mp4", empty, "video/mp4");

            Resource stored = store.open(prefix + "empty.mp4").orElseThrow();
            assertThat(stored.contentLength()).isZero();
            try (InputStream in = stored.getInputStream()) {
                assertThat(in.read()).isEqualTo(-1);
            }
        }

        @Test
        void hasNothingUnderAKeyNeverStored() throws Exception {
            store.put(prefix + "other.mp4", randomFile("other.mp4", 10, 8), "video/mp4");

            assertThat(store.open(prefix + "video.mp4")).isEmpty();
            assertThat(store.open("jobs/" + UUID.randomUUID() + ".mp4")).isEmpty();
        }

        @Test
        void keepsEachKeyApart() throws Exception {
            Path a = randomFile("a.mp4", 1000, 9);
            Path b = randomFile("b.mp4", 2000, 10);

            store.put(prefix + "a.mp4", a, "video/mp4");
            store.put(prefix + "b.mp4", b, "video/mp4");

            assertThat(store.open(prefix + "a.mp4").orElseThrow().getInputStream().readAllBytes())
                    .isEqualTo(Files.readAllBytes(a));
            assertThat(store.open(prefix + "b.mp4").orElseThrow().getInputStream().readAllBytes())
                    .isEqualTo(Files.readAllBytes(b));
        }

        private Path randomFile(String name, long size, long seed) throws IOException {
            Path file = tmp.resolve(name);
            Random random = new Random(seed);
            byte[] chunk = new byte[64 * 1024];
            try (OutputStream out = Files.newOutputStream(file)) {
                for (long left = size; left > 0; left -= chunk.length) {
                    random.nextBytes(chunk);
                    out.write(chunk, 0, (int) Math.min(chunk.length, left));
                }
            }
            return file;
        }
    }

    /** What only the S3 store does. */
    @Nested
    class S3Store {

        final S3ProxyServer server = S3ProxyServer.shared();
        final String key = "jobs/" + UUID.randomUUID() + ".mp4";

        @TempDir
        Path tmp;

        @AfterEach
        void deleteObject() {
            server.client().deleteObject(d -> d.bucket(server.bucket()).key(key));
        }

        @Test
        void connectsWithTheSettingsAndTheStandardCredentialChain() throws Exception {
            Path video = Files.write(tmp.resolve("video.mp4"), new byte[] {1, 2, 3, 4, 5});
            ArchiveSettings settings = new ArchiveSettings("s3", null, server.bucket(), server.endpoint(), null,
                    true, List.of("*.fal.media"), DataSize.ofMegabytes(512), Duration.ofHours(24),
                    Duration.ofSeconds(5), Duration.ofMinutes(10), Duration.ofMinutes(10));
            // the first link of the SDK's default chain: system properties, then AWS_ACCESS_KEY_ID and friends
            System.setProperty("aws.accessKeyId", S3ProxyServer.ACCESS_KEY);
            System.setProperty("aws.secretAccessKey", S3ProxyServer.SECRET_KEY);
            try (S3VideoStore store = S3VideoStore.connect(settings)) {
                store.put(key, video, "video/mp4");

                assertThat(store.open(key).orElseThrow().getInputStream().readAllBytes())
                        .containsExactly(1, 2, 3, 4, 5);
                assertThat(server.client().headObject(b -> b.bucket(server.bucket()).key(key)).contentType())
                        .isEqualTo("video/mp4");
            } finally {
                System.clearProperty("aws.accessKeyId");
                System.clearProperty("aws.secretAccessKey");
            }
        }

        @Test
        void failsToStoreWithWrongCredentials() throws Exception {
            Path video = Files.write(tmp.resolve("video.mp4"), new byte[] {1});
            S3Client client = server.clientBuilder()
                    .credentialsProvider(() -> software.amazon.awssdk.auth.credentials.AwsBasicCredentials
                            .create(S3ProxyServer.ACCESS_KEY, "not-the-secret"))
                    .build();
            try (S3VideoStore store = new S3VideoStore(client, server.bucket())) {
                assertThatThrownBy(() -> store.put(key, video, "video/mp4"))
                        .isInstanceOf(IOException.class)
                        .hasMessageContaining("s3://" + server.bucket() + "/" + key)
                        .hasMessageNotContaining("not-the-secret");
                assertThatThrownBy(() -> store.open(key)).isInstanceOf(IOException.class);
            }
        }

        @Test
        void aReadOfAnObjectReplacedSinceItWasOpenedFailsRatherThanMixingTheTwo() throws Exception {
            Path first = Files.write(tmp.resolve("first.mp4"), new byte[1000]);
            Path second = Files.write(tmp.resolve("second.mp4"), new byte[2000]);
            S3VideoStore store = new S3VideoStore(server.client(), server.bucket());
            store.put(key, first, "video/mp4");
            Resource opened = store.open(key).orElseThrow();

            store.put(key, second, "video/mp4");

            assertThatThrownBy(() -> opened.getInputStream().readAllBytes())
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("replaced");
        }

        @Test
        void describesTheObjectItReads() throws Exception {
            S3VideoStore store = new S3VideoStore(server.client(), server.bucket());
            store.put(key, Files.write(tmp.resolve("video.mp4"), new byte[] {1}), "video/mp4");

            Resource opened = store.open(key).orElseThrow();

            assertThat(opened.getDescription()).contains("s3://" + server.bucket() + "/" + key);
            assertThat(opened.lastModified()).isPositive();
        }
    }

    /** A GetObject as sent and answered: its Range header and how many bytes the answer carries. */
    record Get(String range, Long contentLength) {
    }

    private static final class RecordGets implements ExecutionInterceptor {

        private final List<Get> gets;

        RecordGets(List<Get> gets) {
            this.gets = gets;
        }

        @Override
        public void afterUnmarshalling(Context.AfterUnmarshalling context, ExecutionAttributes attributes) {
            if (context.request() instanceof GetObjectRequest request
                    && context.response() instanceof GetObjectResponse response) {
                gets.add(new Get(request.range(), response.contentLength()));
            }
        }
    }

    static byte[] slice(Path file, long from, int length) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(from);
            return in.readNBytes(length);
        }
    }

    static String sha256(InputStream in) throws IOException, NoSuchAlgorithmException {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (in) {
            byte[] buffer = new byte[64 * 1024];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
