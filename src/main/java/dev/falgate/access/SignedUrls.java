package dev.falgate.access;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * URLs that work without an Authorization header, for {@code <video src>} (api.md, {@code signed_url}): the path
 * with {@code expires} (Unix seconds, at most {@code FALGATE_VIDEO_URL_TTL} ahead) and {@code sig}, an HMAC-SHA256
 * with a server secret over method, path and expiry. The secret is made once and kept in the database, so every
 * instance signs and checks alike.
 */
@Component
public class SignedUrls {

    private static final String HMAC = "HmacSHA256";
    /** Set by {@link ApiKeyFilter} on a request whose signed URL it verified: the path it was signed for. */
    static final String VERIFIED_PATH = SignedUrls.class.getName() + ".path";

    /** Whether this request came with a valid signed URL (and no API key) for its own path. */
    public static boolean verified(jakarta.servlet.http.HttpServletRequest request) {
        return request.getAttribute(VERIFIED_PATH) != null;
    }

    private final JdbcClient jdbc;
    private final Clock clock;
    private final Duration ttl;
    private volatile byte[] secret;

    SignedUrls(JdbcClient jdbc, Clock clock, @Value("${falgate.video-url-ttl:1h}") Duration ttl) {
        this.jdbc = jdbc;
        this.clock = clock;
        this.ttl = ttl;
    }

    /** {@code path} signed for GET until {@code FALGATE_VIDEO_URL_TTL} from now. */
    public String sign(String path) {
        long expires = clock.instant().plus(ttl).getEpochSecond();
        return path + "?expires=" + expires + "&sig=" + signature("GET", path, expires);
    }

    /** Whether {@code sig} signs this method, path and expiry, and the expiry has not passed nor lies too far ahead. */
    boolean verify(String method, String path, String expires, String sig) {
        long until;
        try {
            until = Long.parseLong(expires);
        } catch (NumberFormatException | NullPointerException e) {
            return false;
        }
        long now = clock.instant().getEpochSecond();
        if (until < now || until > now + ttl.toSeconds() || sig == null) {
            return false;
        }
        String signedMethod = method.equals("HEAD") ? "GET" : method; // a player may ask HEAD first
        return MessageDigest.isEqual(signature(signedMethod, path, until).getBytes(StandardCharsets.US_ASCII),
                sig.getBytes(StandardCharsets.US_ASCII));
    }

    private String signature(String method, String path, long expires) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(secret(), HMAC));
            byte[] digest = mac.doFinal((method + "\n" + path + "\n" + expires).getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is part of every Java runtime", e);
        }
    }

    private byte[] secret() {
        byte[] known = secret;
        if (known == null) {
            byte[] fresh = new byte[32];
            new SecureRandom().nextBytes(fresh);
            jdbc.sql("insert into url_signing_key (secret, created_at) values (?, ?) on conflict do nothing")
                    .param(fresh).param(Timestamp.from(clock.instant())).update();
            known = jdbc.sql("select secret from url_signing_key").query(byte[].class).single();
            secret = known;
        }
        return known;
    }
}
