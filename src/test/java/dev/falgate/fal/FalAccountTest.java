package dev.falgate.fal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

import dev.falgate.TestDatabase;

/** With {@code FAL_USER_ID} set, only deliveries naming that user may be ours; nothing learned overrides it. */
class FalAccountTest {

    @Test
    void aConfiguredUserIdRefusesEveryOtherUserAndIsNeverReplacedByALearnedOne() {
        FalAccount account = new FalAccount(settings(" user-ours "), database(), Clock.systemUTC());

        account.learnFrom("user-other");

        assertThat(account.mayBeOurs("user-ours")).isTrue();
        assertThat(account.mayBeOurs("user-other")).isFalse();
        assertThat(account.mayBeOurs(null)).isFalse();
    }

    private static FalSettings settings(String userId) {
        URI queue = URI.create("http://127.0.0.1:1");
        return new FalSettings("key", queue, "fal-ai/ltx-video-v097/extend", Duration.ofSeconds(1),
                Duration.ofSeconds(1), null, queue.resolve("/v1"), userId, null);
    }

    private static JdbcClient database() {
        return JdbcClient.create(TestDatabase.dataSource());
    }
}
