package dev.falgate.archive;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

import org.springframework.core.io.AbstractResource;
import org.springframework.core.io.Resource;

import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Videos in an S3 bucket, AWS's or an S3-compatible store's ({@code FALGATE_ARCHIVE_S3_*}). A PUT is atomic: a
 * reader sees the old object or the new one. A read streams from S3 (nothing is held in memory) and starts where
 * the reader's first {@code skip(n)} points, with a ranged GET. Credentials come from the AWS SDK's default chain
 * ({@code AWS_ACCESS_KEY_ID} and {@code AWS_SECRET_ACCESS_KEY}, a profile, a container or instance role); they are
 * never in falgate's settings or logs.
 */
final class S3VideoStore implements VideoStore, AutoCloseable {

    /** The region when none is set: AWS needs one to sign, and most S3-compatible stores accept this one. */
    static final String DEFAULT_REGION = "us-east-1";

    private final S3Client client;
    private final String bucket;

    S3VideoStore(S3Client client, String bucket) {
        this.client = Objects.requireNonNull(client, "client");
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("FALGATE_ARCHIVE_S3_BUCKET is not set");
        }
        this.bucket = bucket;
    }

    /** A store on the configured bucket; nothing is sent to S3 until the first put or open. */
    static S3VideoStore connect(ArchiveSettings settings) {
        String region = settings.s3Region() == null || settings.s3Region().isBlank() ? DEFAULT_REGION
                : settings.s3Region().trim();
        S3ClientBuilder builder = S3Client.builder()
                // the JDK's HttpURLConnection: no Netty or Apache HttpClient (pom.xml); streams a PUT with a
                // fixed Content-Length and a GET's body as it arrives
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .region(Region.of(region))
                .forcePathStyle(settings.s3PathStyle())
                .credentialsProvider(DefaultCredentialsProvider.builder().build());
        if (settings.s3Endpoint() != null) {
            builder.endpointOverride(settings.s3Endpoint());
        }
        return new S3VideoStore(builder.build(), settings.s3Bucket());
    }

    @Override
    public void put(String key, Path file, String contentType) throws IOException {
        try {
            // one PUT: S3 stores the whole object or nothing, and replaces the old one in a single step; the
            // body is read from the file as it is sent
            client.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromFile(file));
        } catch (SdkException e) {
            throw new IOException("Could not store " + describe(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Resource> open(String key) throws IOException {
        HeadObjectResponse head;
        try {
            head = client.headObject(b -> b.bucket(bucket).key(key));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            // a HEAD has no body, so the SDK may not name the error: a 404 is "no such key" either way
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw new IOException("Could not open " + describe(key) + ": " + e.getMessage(), e);
        } catch (SdkException e) {
            throw new IOException("Could not open " + describe(key) + ": " + e.getMessage(), e);
        }
        return Optional.of(new S3ObjectResource(key, head.contentLength(), head.eTag(), head.lastModified()));
    }

    /** Closes the S3 client and its connections. */
    @Override
    public void close() {
        client.close();
    }

    private String describe(String key) {
        return "s3://" + bucket + "/" + key;
    }

    /**
     * One stored object, as found by a HEAD. Each {@link #getInputStream()} is a new GET, sent on the first read; a
     * stream whose first call is {@code skip(n)} asks for {@code bytes=n-} (as ResourceRegionHttpMessageConverter
     * does for a {@code Range} request). The GET asks for the object the HEAD saw (If-Match): were it replaced in
     * between, the read fails rather than mixing the new bytes with the old length.
     */
    private final class S3ObjectResource extends AbstractResource {

        private final String key;
        private final long length;
        private final String eTag;
        private final Instant lastModified;

        S3ObjectResource(String key, Long length, String eTag, Instant lastModified) {
            this.key = key;
            this.length = length == null ? 0 : length;
            this.eTag = eTag;
            this.lastModified = lastModified;
        }

        @Override
        public boolean exists() {
            return true;
        }

        @Override
        public boolean isReadable() {
            return true;
        }

        @Override
        public long contentLength() {
            return length;
        }

        @Override
        public long lastModified() throws IOException {
            if (lastModified == null) {
                throw new FileNotFoundException(getDescription() + " has no last-modified time");
            }
            return lastModified.toEpochMilli();
        }

        @Override
        public String getFilename() {
            return key.substring(key.lastIndexOf('/') + 1);
        }

        @Override
        public String getDescription() {
            return "S3 object [" + describe(key) + "]";
        }

        @Override
        public InputStream getInputStream() {
            return new ObjectStream(this);
        }

        ResponseInputStream<GetObjectResponse> get(long from) throws IOException {
            GetObjectRequest.Builder request = GetObjectRequest.builder().bucket(bucket).key(key);
            if (eTag != null) {
                request.ifMatch(eTag);
            }
            if (from > 0) {
                request.range("bytes=" + from + "-");
            }
            try {
                return client.getObject(request.build());
            } catch (NoSuchKeyException e) {
                throw new FileNotFoundException(getDescription() + " is gone");
            } catch (S3Exception e) {
                if (e.statusCode() == 412) {
                    throw new IOException(getDescription() + " was replaced while being read", e);
                }
                throw new IOException("Could not read " + getDescription() + ": " + e.getMessage(), e);
            } catch (SdkException e) {
                throw new IOException("Could not read " + getDescription() + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The bytes of one object from a position: skips before the first read only move the position, and the first
     * read sends the GET from there; later skips are the response stream's.
     */
    private static final class ObjectStream extends InputStream {

        private final S3ObjectResource object;
        private long position;
        private ResponseInputStream<GetObjectResponse> response;
        private boolean ended;
        private boolean closed;

        ObjectStream(S3ObjectResource object) {
            this.object = object;
        }

        @Override
        public int read() throws IOException {
            InputStream in = open();
            if (in == null) {
                return -1;
            }
            int b = in.read();
            if (b < 0) {
                ended = true;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) {
                return 0;
            }
            InputStream in = open();
            if (in == null) {
                return -1;
            }
            int n = in.read(b, off, len);
            if (n < 0) {
                ended = true;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            ensureNotClosed();
            if (n <= 0) {
                return 0;
            }
            if (response == null) {
                long skipped = Math.min(n, object.length - position);
                position += skipped;
                return Math.max(skipped, 0);
            }
            return response.skip(n);
        }

        @Override
        public int available() throws IOException {
            ensureNotClosed();
            return response == null ? 0 : response.available();
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            if (response != null) {
                if (!ended) {
                    // a reader that stops early (a player seeking away): drop the connection instead of reading
                    // the rest of the video to reuse it
                    response.abort();
                }
                response.close();
            }
        }

        /** The response stream, opened at the position on the first read; null when the position is the end. */
        private InputStream open() throws IOException {
            ensureNotClosed();
            if (response == null) {
                if (ended || position >= object.length) {
                    ended = true;
                    return null;
                }
                response = object.get(position);
            }
            return response;
        }

        private void ensureNotClosed() throws IOException {
            if (closed) {
                throw new IOException("Stream closed");
            }
        }
    }
}
