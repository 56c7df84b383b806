package dev.falgate.archive;

import java.net.URI;
import java.time.Duration;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * An S3 server in the test JVM: s3proxy on a random port of 127.0.0.1, objects in memory, SigV2/SigV4 checked
 * against a fixed test key, with one bucket. {@link #shared()} is one server for the whole JVM, stopped when the JVM
 * exits; {@link #start()} is a server of one's own, to {@link #stop()}.
 */
public final class S3ProxyServer {

    public static final String ACCESS_KEY = "falgate-test-access";
    public static final String SECRET_KEY = "falgate-test-secret";
    public static final String BUCKET = "falgate-archive";
    public static final String REGION = "us-east-1";

    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final S3Proxy proxy;
    private final URI endpoint;
    private final S3Client client;

    private S3ProxyServer(S3Proxy proxy, URI endpoint) {
        this.proxy = proxy;
        this.endpoint = endpoint;
        this.client = clientBuilder().build();
    }

    /** One server for the whole JVM, started on first use. */
    public static S3ProxyServer shared() {
        return Shared.SERVER;
    }

    /** A new server with an empty {@link #BUCKET}. */
    public static S3ProxyServer start() {
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(new TransientNio2BlobStore())
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .stopTimeout(0)
                .build();
        try {
            proxy.start();
            long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
            while (!"STARTED".equals(proxy.getState())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("s3proxy did not start within " + START_TIMEOUT
                            + " (state " + proxy.getState() + ")");
                }
                Thread.sleep(5);
            }
        } catch (Exception e) {
            stopQuietly(proxy);
            throw new IllegalStateException("Could not start s3proxy", e);
        }
        S3ProxyServer server = new S3ProxyServer(proxy, URI.create("http://127.0.0.1:" + proxy.getPort()));
        server.client.createBucket(b -> b.bucket(BUCKET));
        return server;
    }

    /** {@code http://127.0.0.1:<port>}: an S3 endpoint for path-style addressing. */
    public URI endpoint() {
        return endpoint;
    }

    public String bucket() {
        return BUCKET;
    }

    /** A client of this server, for tests to look at or arrange the bucket's objects. */
    public S3Client client() {
        return client;
    }

    /** How {@link #client()} is made, for a client with something added (an interceptor, another HTTP client). */
    public S3ClientBuilder clientBuilder() {
        return S3Client.builder()
                .endpointOverride(endpoint)
                .region(Region.of(REGION))
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY,
                        SECRET_KEY)))
                .httpClientBuilder(UrlConnectionHttpClient.builder());
    }

    public void stop() {
        client.close();
        stopQuietly(proxy);
    }

    private static void stopQuietly(S3Proxy proxy) {
        try {
            proxy.stop();
        } catch (Exception e) {
            // a test server at the end of its life
        }
    }

    private static final class Shared {

        static final S3ProxyServer SERVER = start();

        static {
            Runtime.getRuntime().addShutdownHook(new Thread(SERVER::stop, "s3proxy-stop"));
        }
    }
}
