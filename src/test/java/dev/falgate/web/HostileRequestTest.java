package dev.falgate.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator;

/**
 * Requests as a hostile caller writes them (api.md, "Limits and hostile input"): no spelling of a path skips the
 * key check or the body cap, a caller without a key or scope learns nothing about its body, and a body far over
 * the cap is never read into memory. Sent over a raw socket so the bytes on the wire are exactly these.
 */
class HostileRequestTest extends IntegrationTest {

    private static final String JOB = "00000000-0000-0000-0000-000000000001";

    @ParameterizedTest
    @ValueSource(strings = {"/v1;x=1/jobs", "/v1/jobs;x=1", "/v1//jobs", "/v1/./jobs", "/v1/x/../jobs",
            "/v1/%2e/jobs", "/v1%2Fjobs", "/v1%2fjobs", "/v1/jobs%3Bx", "/v1/jobs%00", "/v1/%zz", "/fal;x=1/webhooks/" + JOB,
            "/%2E%2E/v1/jobs", "/v1/jobs%5c"})
    void anAmbiguousPathIsRefusedWith400BeforeAnythingElse(String path) throws IOException {
        Answer answer = raw("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        assertThat(answer.status()).as(path).isEqualTo(400);
        assertThat(answer.body()).as(path).doesNotContain("internal_error");
    }

    @Test
    void aPercentEncodedSpellingOfAV1RouteStillNeedsAKey() throws IOException {
        // %76 is 'v', %6a is 'j': Spring routes this to GET /v1/jobs, so the key check must see it too
        Answer answer = raw("GET /%761/%6aobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        assertThat(answer.status()).isEqualTo(401);
        assertThat(answer.body()).contains("unauthorized");
    }

    @Test
    void thePercentEncodedSpellingWithAKeyReachesTheRoute() throws IOException {
        Answer answer = raw("GET /%761/%6aobs?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_KEY
                + "\r\nConnection: close\r\n\r\n");

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).contains("\"data\"");
    }

    @Test
    void anOversizedBodyWithoutAKeyIs401NotA413() throws IOException {
        Answer answer = raw("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000000000\r\nConnection: close\r\n\r\n{\"input\":");

        assertThat(answer.status()).isEqualTo(401);
    }

    @Test
    void aKeyWithoutTheScopeIs403WhateverItsBody() throws IOException {
        String reader = createKey("reader-" + UUID.randomUUID().toString().substring(0, 8), null, "jobs:read");
        String[][] routes = {{"POST", "/v1/jobs"}, {"POST", "/v1/keys"}, {"PUT", "/v1/clients/acme/budget"},
                {"POST", "/v1/jobs/" + JOB + "/cancel"}, {"DELETE", "/v1/keys/" + JOB}};
        String[][] bodies = {{"application/json", "{not json"}, {"text/plain", "hello"},
                {"application/json", "{\"input\": {\"prompt\": \"\u0000\"}}"},
                {"application/x-www-form-urlencoded", "a=b&c=d"}};
        for (String[] route : routes) {
            for (String[] body : bodies) {
                Answer answer = raw(route[0] + " " + route[1] + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + reader
                        + "\r\nContent-Type: " + body[0] + "\r\nContent-Length: " + bytes(body[1])
                        + "\r\nConnection: close\r\n\r\n" + body[1]);
                assertThat(answer.status()).as("%s %s with %s", route[0], route[1], body[0]).isEqualTo(403);
                assertThat(answer.body()).contains("forbidden");
            }
            Answer huge = raw(route[0] + " " + route[1] + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + reader
                    + "\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n{");
            assertThat(huge.status()).as("%s %s declaring a gigabyte", route[0], route[1]).isEqualTo(403);
        }
    }

    @Test
    void aKeyWithTheScopeThenLearnsAboutItsBody() throws IOException {
        Answer huge = raw("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n{");
        assertThat(huge.status()).isEqualTo(413);
        assertThat(huge.body()).contains("payload_too_large");

        Answer text = raw("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_KEY
                + "\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        assertThat(text.status()).isEqualTo(415);
    }

    @Test
    void anAnonymousChunkedFloodToTheWebhookIsCutOffAtTheCap() throws IOException {
        // unsigned, so refused on its headers before a byte of the body is read
        Answer unsigned = chunkedFlood("/fal/webhooks/" + JOB, "");
        assertThat(unsigned.status()).isEqualTo(401);

        // headers that pass the cheap checks: the body is read up to 64 KiB and no further
        Answer flooded = chunkedFlood("/%66al/webhooks/" + JOB, plausibleWebhookHeaders());
        assertThat(flooded.status()).isEqualTo(413);

        assertThat(get("/v1/jobs?limit=1").statusCode()).as("the gateway is still up").isEqualTo(200);
    }

    @Test
    void aSenderThatStallsMidBodyLosesItsConnectionWithinTheTimeout() throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(30_000);
            long started = System.nanoTime();
            socket.getOutputStream().write(("POST /fal/webhooks/" + JOB + " HTTP/1.1\r\nHost: x\r\n"
                    + plausibleWebhookHeaders()
                    + "Content-Length: 1000\r\nConnection: close\r\n\r\n{\"request_id\":").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();

            Answer answer = read(socket.getInputStream()); // and then nothing more is sent

            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("server.tomcat.connection-timeout is 10 s")
                    .isBetween(Duration.ofSeconds(9), Duration.ofSeconds(20));
            assertThat(answer.status()).as("Request Timeout (Tomcat's) or an unreadable body").isIn(400, 408);
        }
    }

    @Test
    void aBodyThatTricklesInIsCutOffAfterTenSecondsWhateverItsPace() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(40_000);
            long started = System.nanoTime();
            OutputStream out = socket.getOutputStream();
            out.write(("POST /fal/webhooks/" + JOB + " HTTP/1.1\r\nHost: x\r\n"
                    + plausibleWebhookHeaders()
                    + "Content-Length: 100\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            try {
                for (int i = 0; i < 100; i++) { // one byte every 2 s: each read is well inside the connection timeout
                    out.write('x');
                    out.flush();
                    Thread.sleep(2_000);
                    if (socket.getInputStream().available() > 0) {
                        break;
                    }
                }
            } catch (IOException answeredAndClosed) {
                // expected
            }

            Answer answer = read(socket.getInputStream());

            assertThat(answer.status()).isEqualTo(408);
            assertThat(answer.body()).contains("request_timeout");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(25));
        }
    }

    @Test
    void optionsWithAKeyIsAnsweredNotRefused() throws IOException {
        Answer answer = raw("OPTIONS /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_KEY
                + "\r\nConnection: close\r\n\r\n");

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).containsIgnoringCase("Allow: ");
    }

    @Test
    void twoAuthorizationHeadersAreRefusedWhicheverComesFirst() throws IOException {
        for (String order : List.of(ADMIN_KEY + "\r\nAuthorization: Bearer nope", "nope\r\nAuthorization: Bearer " + ADMIN_KEY)) {
            Answer answer = raw("GET /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + order
                    + "\r\nConnection: close\r\n\r\n");
            assertThat(answer.status()).as("a proxy in front may read the other one").isEqualTo(401);
        }
    }

    @Test
    void whatTomcatRefusesByItselfIsAProblemToo() throws IOException {
        Answer notUtf8 = raw("GET /v1/jobs/%ff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Answer tooLong = raw("GET /v1/jobs?" + "a=1&".repeat(3000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        for (Answer answer : List.of(notUtf8, tooLong)) {
            assertThat(answer.status()).isEqualTo(400);
            assertThat(answer.body()).containsIgnoringCase("Content-Type: application/problem+json")
                    .contains("\"status\":400");
        }
    }

    @Test
    void anUnauthenticatedRouteCapsItsBodyToo() throws IOException {
        Answer answer = raw("POST /fal/webhooks/" + JOB + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n"
                + "Connection: close\r\n\r\n");

        assertThat(answer.status()).as("refused on its headers, body unread").isEqualTo(401);
    }

    // --- the wire ---------------------------------------------------------------------------------

    /** fal's webhook headers that pass every check made before the body is read (the signature is not real). */
    private String plausibleWebhookHeaders() {
        return "X-Fal-Webhook-Request-Id: r\r\nX-Fal-Webhook-User-Id: " + FalSimulator.USER_ID + "\r\n"
                + "X-Fal-Webhook-Timestamp: " + clock.instant().getEpochSecond() + "\r\nX-Fal-Webhook-Signature: "
                + "ab".repeat(64) + "\r\n";
    }

    record Answer(int status, String body) {
    }

    private Answer raw(String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.UTF_8));
            out.flush();
            return read(socket.getInputStream());
        }
    }

    /** 20 MiB sent in chunks after the headers, stopping as soon as the gateway has answered and closed. */
    private Answer chunkedFlood(String path, String headers) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = ("8000\r\n" + "x".repeat(0x8000) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            try {
                for (int i = 0; i < 640; i++) {
                    out.write(chunk);
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException closedByTheGateway) {
                // expected: the gateway answered and stopped reading
            }
            return read(socket.getInputStream());
        }
    }

    /**
     * Reads one answer: headers, then its Content-Length or chunks. Not up to EOF: after refusing a body it did not
     * read, Tomcat keeps the connection until its timeout, which is not what these tests measure.
     */
    private static Answer read(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        try {
            int b;
            while ((b = in.read()) >= 0) {
                all.write(b);
                String text = all.toString(StandardCharsets.ISO_8859_1);
                int headersEnd = text.indexOf("\r\n\r\n");
                if (headersEnd < 0) {
                    continue;
                }
                String headers = text.substring(0, headersEnd).toLowerCase();
                int length = headers.indexOf("content-length: ");
                if (length >= 0) {
                    int end = headers.indexOf("\r\n", length);
                    int declared = Integer.parseInt(headers.substring(length + 16, end < 0 ? headers.length() : end).strip());
                    if (all.size() >= headersEnd + 4 + declared) {
                        break;
                    }
                } else if (!headers.contains("transfer-encoding: chunked") || text.endsWith("\r\n0\r\n\r\n")) {
                    break;
                }
            }
        } catch (IOException reset) {
            // a reset after the answer arrived still leaves the answer
        }
        String text = all.toString(StandardCharsets.UTF_8);
        assertThat(text).as("an HTTP answer").startsWith("HTTP/1.1 ");
        return new Answer(Integer.parseInt(text.substring(9, 12)), text);
    }

    private static int bytes(String body) {
        return body.getBytes(StandardCharsets.UTF_8).length;
    }
}
