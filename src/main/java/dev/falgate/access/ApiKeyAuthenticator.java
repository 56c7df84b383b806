package dev.falgate.access;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumSet;
import java.util.Optional;

import org.springframework.stereotype.Service;
import org.springframework.util.Assert;

/**
 * Turns a presented API key into a {@link Caller}. For now the one key is {@code FALGATE_ADMIN_KEY};
 * keys created through the admin API (stored as hashes) will be looked up here by the same digest.
 */
@Service
public class ApiKeyAuthenticator {

    private final byte[] adminKeyDigest;

    ApiKeyAuthenticator(AccessSettings settings) {
        // RequiredSettings has checked it before start-up; this only guards against a blank key matching anything.
        Assert.hasText(settings.adminKey(), "FALGATE_ADMIN_KEY is required");
        this.adminKeyDigest = digest(settings.adminKey().strip());
    }

    public Optional<Caller> authenticate(String presentedKey) {
        // Comparing digests of equal length keeps the comparison constant-time whatever was presented.
        if (MessageDigest.isEqual(digest(presentedKey), adminKeyDigest)) {
            return Optional.of(new Caller(AccessSettings.ADMIN_CLIENT, EnumSet.allOf(Scope.class)));
        }
        return Optional.empty();
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
