package dev.falgate.fal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.web.reactive.function.client.WebClient;

import dev.falgate.simulator.FalSimulator;
import dev.falgate.simulator.FalSimulator.Fault;
import tools.jackson.databind.json.JsonMapper;

/**
 * The fal client against real sockets: an HTTP answer says for sure what fal did; only a failure after
 * the request left leaves a submit unknown. Never a mock: these are the real WebClient, codecs and timeouts.
 */
class FalClientTest {

    private static final String KEY = "fal-client-test-key";
    private static final String INPUT = "{\"prompt\": \"p\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}";

    @Test
    void refusedConnectionMeansNothingWasSentAndTheSubmitMayBeRetried() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }

        SubmitOutcome outcome = client(URI.create("http://127.0.0.1:" + closedPort)).submit(INPUT, UUID.randomUUID());

        assertThat(outcome).isInstanceOfSatisfying(SubmitOutcome.Retryable.class,
                retry -> assertThat(retry.operatorProblem()).isFalse());
    }

    @Test
    void noAnswerAfterTheRequestLeftIsUnknown() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Socket> accepted = new ArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    accepted.add(silent.accept()); // reads nothing, answers nothing
                } catch (IOException e) {
                    // closed at the end of the test
                }
            });
            acceptor.start();

            SubmitOutcome outcome = client(URI.create("http://127.0.0.1:" + silent.getLocalPort()))
                    .submit(INPUT, UUID.randomUUID());

            assertThat(outcome).isInstanceOf(SubmitOutcome.Unknown.class);
            for (Socket socket : accepted) {
                socket.close();
            }
        }
    }

    @Test
    void answersAreClassifiedByWhatFalDid() {
        try (FalSimulator fal = FalSimulator.start(0, KEY)) {
            FalClient client = client(fal.baseUrl());
            String marker = UUID.randomUUID().toString();
            String input = "{\"prompt\": \"" + marker + "\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}";
            fal.failNextSubmits(marker, Fault.SERVER_ERROR, Fault.SLOW_DOWN, Fault.LOCKED, Fault.LOSE_ANSWER);

            assertThat(client.submit(input, UUID.randomUUID())).isInstanceOfSatisfying(SubmitOutcome.Retryable.class,
                    retry -> assertThat(retry.httpStatus()).isEqualTo(500));
            assertThat(client.submit(input, UUID.randomUUID())).isInstanceOfSatisfying(SubmitOutcome.Retryable.class,
                    retry -> assertThat(retry.retryAfter()).isEqualTo(Duration.ofSeconds(120)));
            assertThat(client.submit(input, UUID.randomUUID())).isInstanceOfSatisfying(SubmitOutcome.Retryable.class,
                    retry -> assertThat(retry.operatorProblem()).isTrue());
            assertThat(client.submit(input, UUID.randomUUID())).isInstanceOf(SubmitOutcome.Unknown.class);
            assertThat(client.submit("{\"prompt\": \"[sim:reject]\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}",
                    UUID.randomUUID())).isInstanceOfSatisfying(SubmitOutcome.Rejected.class,
                    rejected -> assertThat(rejected.httpStatus()).isEqualTo(422));
            SubmitOutcome accepted = client.submit(input, UUID.randomUUID());
            assertThat(accepted).isInstanceOf(SubmitOutcome.Accepted.class);

            FalRequest request = ((SubmitOutcome.Accepted) accepted).request();
            assertThat(client.status(request)).isInstanceOf(StatusOutcome.Completed.class);
            assertThat(client.result(request)).isInstanceOfSatisfying(ResultOutcome.Output.class,
                    output -> assertThat(output.billableUnits()).isEqualByComparingTo("1"));
            assertThat(client.cancel(request)).isEqualTo(CancelOutcome.ALREADY_COMPLETED);
        }
    }

    @Test
    void followUpUrlsOutsideFalsOriginAreNeverCalledWithTheKey() {
        try (FalSimulator fal = FalSimulator.start(0, KEY); FalSimulator elsewhere = FalSimulator.start(0, KEY)) {
            FalClient client = client(fal.baseUrl());
            String id = ((SubmitOutcome.Accepted) client.submit(INPUT, UUID.randomUUID())).request().requestId();
            URI foreign = URI.create(elsewhere.baseUrl() + FalSimulator.APP + "/requests/" + id + "/status");

            StatusOutcome status = client.status(new FalRequest(id, foreign, foreign, foreign));

            assertThat(status).isInstanceOf(StatusOutcome.Completed.class);
            assertThat(elsewhere.received()).isEmpty();
        }
    }

    @Test
    void anOutputTtlAsksFalToKeepTheFilesThatLong() {
        try (FalSimulator fal = FalSimulator.start(0, KEY)) {
            client(fal.baseUrl(), Duration.ofDays(7)).submit(INPUT, UUID.randomUUID());
            client(fal.baseUrl(), null).submit(INPUT, UUID.randomUUID());

            assertThat(fal.received()).filteredOn(received -> received.method().equals("POST"))
                    .extracting(received -> received.header("x-fal-object-lifecycle-preference"))
                    .containsExactly("{\"expiration_duration_seconds\": 604800}", null);
        }
    }

    private static FalClient client(URI queueUrl) {
        return client(queueUrl, null);
    }

    private static FalClient client(URI queueUrl, Duration outputTtl) {
        FalSettings settings = new FalSettings(KEY, queueUrl, "fal-ai/ltx-video-v097/extend", Duration.ofSeconds(2),
                Duration.ofSeconds(1), null, queueUrl.resolve("/v1"), null, outputTtl);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        return new FalClient(settings, WebClient.builder(), JsonMapper.builder().build(),
                new FalAccessMonitor(Clock.systemUTC(), meters), meters);
    }
}
