package dev.falgate.callback;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Base64;
import java.util.List;
import java.util.Map;

import com.standardwebhooks.Webhook;
import org.junit.jupiter.api.Test;

/** falgate signs exactly as the Standard Webhooks specification and its reference library do. */
class CallbackSignatureTest {

    // The specification's published test vector (standard-webhooks, spec and libraries' tests)
    private static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static final String ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private static final long TIMESTAMP = 1614265330;
    private static final String PAYLOAD = "{\"test\": 2432232314}";
    private static final String EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    @Test
    void thePublishedTestVectorSignsAlike() throws Exception {
        byte[] key = Base64.getDecoder().decode(SECRET.substring("whsec_".length()));

        assertThat(CallbackSignature.header(List.of(key), ID, TIMESTAMP, PAYLOAD)).isEqualTo(EXPECTED);
        assertThat(new Webhook(SECRET).sign(ID, TIMESTAMP, PAYLOAD)).isEqualTo(EXPECTED);
        assertThat(CallbackSignature.shown(key)).isEqualTo(SECRET);
    }

    @Test
    void twoSecretsGiveTwoSignaturesEitherOfWhichVerifies() throws Exception {
        byte[] old = Base64.getDecoder().decode(SECRET.substring("whsec_".length()));
        byte[] fresh = new byte[32];
        fresh[0] = 7;
        long now = System.currentTimeMillis() / 1000;
        String header = CallbackSignature.header(List.of(fresh, old), ID, now, PAYLOAD);

        assertThat(header.split(" ")).hasSize(2);
        Map<String, List<String>> headers = Map.of("webhook-id", List.of(ID),
                "webhook-timestamp", List.of(Long.toString(now)), "webhook-signature", List.of(header));
        new Webhook(SECRET).verify(PAYLOAD, headers);
        new Webhook(CallbackSignature.shown(fresh)).verify(PAYLOAD, headers);
    }
}
