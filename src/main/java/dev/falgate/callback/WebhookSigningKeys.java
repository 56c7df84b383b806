package dev.falgate.callback;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * falgate's own ED25519 keys for webhooks in fal's format (the facade's {@code fal_webhook}), kept in the database
 * and shared by every instance: made at first start, rotatable; a new key is published an hour before it signs, and
 * every key not yet retired is published as the JWKS ({@code /.well-known/jwks.json}), so receivers verify exactly as they verify fal. The
 * private key never leaves the database except as signatures.
 */
@Component
class WebhookSigningKeys {

    /** How long a rotated-out key stays published after its successor starts signing. */
    static final Duration PUBLISHED_AFTER_ROTATION = Duration.ofHours(24);
    /**
     * How long receivers may cache the JWKS ({@code Cache-Control} of {@code /.well-known/jwks.json}): a new key is
     * published this long before it signs, so no receiver meets a signature by a key it has not fetched yet.
     */
    static final Duration JWKS_CACHE = Duration.ofHours(1);
    private static final SecureRandom random = new SecureRandom();

    private final JdbcClient jdbc;
    private final Clock clock;

    WebhookSigningKeys(JdbcClient jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
        if (signing() == null) {
            Instant now = clock.instant(); // the first start makes one; instances starting together may make one each
            add(now, now);
        }
    }

    /** A public key as the JWKS shows it. */
    record PublicKey(String kid, byte[] key) {
    }

    private record SigningKey(String kid, byte[] privateKey) {
    }

    /** The keys receivers should accept now: the signing one and those rotated out less than a day ago. */
    List<PublicKey> published() {
        return jdbc.sql("""
                select kid, public_key from webhook_signing_key where retired_at is null or retired_at > ?
                 order by created_at desc""").param(Timestamp.from(clock.instant()))
                .query((row, n) -> new PublicKey(row.getString("kid"), row.getBytes("public_key"))).list();
    }

    /** A new key, published now; it signs after {@link #JWKS_CACHE}, and the ones before it stay published a day longer. */
    record Rotation(String kid, Instant signsFrom) {
    }

    Rotation rotate() {
        Instant now = clock.instant();
        Instant signsFrom = now.plus(JWKS_CACHE);
        jdbc.sql("update webhook_signing_key set retired_at = ? where retired_at is null")
                .param(Timestamp.from(signsFrom.plus(PUBLISHED_AFTER_ROTATION))).update();
        return new Rotation(add(now, signsFrom), signsFrom);
    }

    /**
     * fal's signature headers for {@code body}: the message is {@code request_id \n user_id \n timestamp \n
     * hex(sha256(body))}, signed by the current key, hex.
     */
    String sign(String requestId, String userId, long timestamp, String body) {
        SigningKey key = signing();
        if (key == null) {
            Instant now = clock.instant();
            add(now, now);
            key = signing();
        }
        byte[] message = (requestId + "\n" + userId + "\n" + timestamp + "\n" + sha256Hex(body))
                .getBytes(StandardCharsets.UTF_8);
        Ed25519Signer signer = new Ed25519Signer();
        signer.init(true, new Ed25519PrivateKeyParameters(key.privateKey(), 0));
        signer.update(message, 0, message.length);
        return HexFormat.of().formatHex(signer.generateSignature());
    }

    /** The newest key that signs by now. */
    private SigningKey signing() {
        return jdbc.sql("""
                select kid, private_key from webhook_signing_key where activates_at <= ?
                 order by activates_at desc, created_at desc limit 1""").param(Timestamp.from(clock.instant()))
                .query((row, n) -> new SigningKey(row.getString("kid"), row.getBytes("private_key"))).optional()
                .orElse(null);
    }

    private String add(Instant now, Instant activatesAt) {
        Ed25519PrivateKeyParameters key = new Ed25519PrivateKeyParameters(random);
        byte[] id = new byte[12];
        random.nextBytes(id);
        String kid = "falgate-" + Base64.getUrlEncoder().withoutPadding().encodeToString(id);
        jdbc.sql("""
                insert into webhook_signing_key (kid, private_key, public_key, created_at, activates_at)
                values (?, ?, ?, ?, ?)""")
                .params(kid, key.getEncoded(), key.generatePublicKey().getEncoded(), Timestamp.from(now),
                        Timestamp.from(activatesAt)).update();
        return kid;
    }

    private static String sha256Hex(String body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(body.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
