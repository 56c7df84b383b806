package dev.falgate.fal;

import java.sql.Timestamp;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Which fal account is ours, for webhooks: fal signs every customer's deliveries with the same keys, so a valid
 * signature proves only that fal sent a delivery, not that our account made the request. The user id is
 * {@code FAL_USER_ID} when configured; otherwise it is learned from the first valid delivery for a request
 * falgate created itself, stored (so every instance and restart holds later deliveries to it) and logged once.
 */
@Component
public class FalAccount {

    private static final Logger log = LoggerFactory.getLogger(FalAccount.class);

    private final String configured;
    private final JdbcClient jdbc;
    private final Clock clock;
    private final AtomicReference<String> learned = new AtomicReference<>();

    FalAccount(FalSettings settings, JdbcClient jdbc, Clock clock) {
        this.configured = settings.userId() == null || settings.userId().isBlank() ? null : settings.userId().strip();
        this.jdbc = jdbc;
        this.clock = clock;
    }

    /** Whether a delivery naming {@code userId} may come from our account (unknown yet: it may). */
    public boolean mayBeOurs(String userId) {
        String ours = userId();
        return ours == null || ours.equals(userId);
    }

    /** A valid delivery for a request falgate created itself names {@code userId}: that is our account. */
    public void learnFrom(String userId) {
        if (configured != null || learned.get() != null || userId == null || userId.isBlank()) {
            return;
        }
        int stored = jdbc.sql("""
                insert into fal_account (user_id, learned_at) values (:user, :now) on conflict do nothing
                """).param("user", userId).param("now", Timestamp.from(clock.instant())).update();
        if (stored == 1) {
            log.info("fal account: learned our user id from a webhook for a request falgate created; later "
                    + "webhooks naming another user are refused (set FAL_USER_ID to fix it explicitly)");
        }
        learned.set(null); // read back what the database holds (another instance may have been first)
        userId();
    }

    private String userId() {
        if (configured != null) {
            return configured;
        }
        String known = learned.get();
        if (known == null) {
            known = jdbc.sql("select user_id from fal_account").query(String.class).optional().orElse(null);
            learned.set(known);
        }
        return known;
    }
}
