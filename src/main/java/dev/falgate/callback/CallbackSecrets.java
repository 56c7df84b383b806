package dev.falgate.callback;

import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The {@code callback_secret} table: each client's signing secret and, for a while after a rotation, the previous
 * one. Secrets leave the database only as signatures, and once as the rotation's answer.
 */
@Component
class CallbackSecrets {

    private static final int SECRET_BYTES = 32;
    private static final SecureRandom random = new SecureRandom();

    private final JdbcClient jdbc;
    private final CallbackSettings settings;

    CallbackSecrets(JdbcClient jdbc, CallbackSettings settings) {
        this.jdbc = jdbc;
        this.settings = settings;
    }

    /** A new secret for the client; the one it replaces keeps signing until {@code previousValidUntil}. */
    record Rotation(byte[] secret, Instant previousValidUntil, Instant rotatedAt) {
    }

    Rotation rotate(String client, Instant now) {
        byte[] secret = newSecret();
        Instant overlapEnds = now.plus(settings.rotationOverlap());
        Timestamp previousUntil = jdbc.sql("""
                insert into callback_secret as s (client, secret, rotated_at) values (:client, :secret, :now)
                on conflict (client) do update
                   set previous_secret = s.secret, previous_valid_until = :overlapEnds, secret = excluded.secret,
                       rotated_at = excluded.rotated_at
                returning previous_valid_until
                """).param("client", client).param("secret", secret).param("now", Timestamp.from(now))
                .param("overlapEnds", Timestamp.from(overlapEnds)).query((row, n) -> row.getTimestamp(1)).list().get(0);
        return new Rotation(secret, previousUntil == null ? null : previousUntil.toInstant(), now);
    }

    /**
     * The secrets that sign the client's events now: its current one (made on first use when an admin never made
     * one, so no event goes unsigned; rotating then gives the caller a secret that verifies), then the previous one
     * while its overlap lasts.
     */
    List<byte[]> signingNow(String client, Instant now) {
        jdbc.sql("insert into callback_secret (client, secret, rotated_at) values (?, ?, ?) on conflict do nothing")
                .params(client, newSecret(), Timestamp.from(now)).update();
        return jdbc.sql("select secret, previous_secret, previous_valid_until from callback_secret where client = ?")
                .param(client).query((row, n) -> {
                    List<byte[]> secrets = new ArrayList<>();
                    secrets.add(row.getBytes("secret"));
                    Timestamp until = row.getTimestamp("previous_valid_until");
                    if (row.getBytes("previous_secret") != null && until != null && until.toInstant().isAfter(now)) {
                        secrets.add(row.getBytes("previous_secret"));
                    }
                    return secrets;
                }).single();
    }

    private static byte[] newSecret() {
        byte[] secret = new byte[SECRET_BYTES];
        random.nextBytes(secret);
        return secret;
    }
}
