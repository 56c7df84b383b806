package dev.falgate.access;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Optional;

import org.springframework.stereotype.Service;
import org.springframework.util.Assert;

/**
 * Turns a presented API key into a {@link Caller}: the bootstrap {@code FALGATE_ADMIN_KEY}, or a key made
 * through the admin API, found by the SHA-256 of the secret (revoked keys are never found). Looked up on
 * every request, so a revocation takes effect at the next one.
 */
@Service
public class ApiKeyAuthenticator {

    /** Every secret starts with this, so a leaked one is recognisable (and scanners can find it). */
    static final String SECRET_PREFIX = "fgk_";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] adminKeyDigest;
    private final ApiKeys keys;
    private final Clock clock;

    ApiKeyAuthenticator(AccessSettings settings, ApiKeys keys, Clock clock) {
        // RequiredSettings has checked it before start-up; this only guards against a blank key matching anything.
        Assert.hasText(settings.adminKey(), "FALGATE_ADMIN_KEY is required");
        this.adminKeyDigest = digest(settings.adminKey().strip());
        this.keys = keys;
        this.clock = clock;
    }

    public Optional<Caller> authenticate(String presentedKey) {
        byte[] digest = digest(presentedKey);
        // Comparing digests of equal length keeps the comparison constant-time whatever was presented.
        if (MessageDigest.isEqual(digest, adminKeyDigest)) {
            return Optional.of(new Caller(AccessSettings.ADMIN_CLIENT, EnumSet.allOf(Scope.class), null, null, false));
        }
        if (!presentedKey.startsWith(SECRET_PREFIX)) {
            return Optional.empty();
        }
        return keys.findActiveByHash(HexFormat.of().formatHex(digest)).map(key -> {
            keys.touch(key.id(), clock.instant());
            return new Caller(key.client(), key.scopes(), key.id(), key.rateLimitPerMinute(), key.sandbox());
        });
    }

    /** A new secret: 256 random bits behind the recognisable prefix. */
    static String newSecret() {
        byte[] random = new byte[32];
        RANDOM.nextBytes(random);
        return SECRET_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    }

    static String hashOf(String secret) {
        return HexFormat.of().formatHex(digest(secret));
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
