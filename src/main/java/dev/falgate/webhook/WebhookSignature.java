package dev.falgate.webhook;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

import dev.falgate.web.ApiException;

/**
 * Checks fal's ED25519 webhook signature: the message is {@code request_id \n user_id \n timestamp \n
 * hex(sha256(body))}, the signature hex in {@code X-Fal-Webhook-Signature}, and any key of fal's JWKS may
 * have made it. A missing header, a stale timestamp or a signature no key verifies is 401.
 */
@Component
class WebhookSignature {

    private final FalSigningKeys keys;
    private final WebhookSettings settings;
    private final Clock clock;

    WebhookSignature(FalSigningKeys keys, WebhookSettings settings, Clock clock) {
        this.keys = keys;
        this.settings = settings;
        this.clock = clock;
    }

    /** The four signed headers, checked for presence, form and freshness: all a delivery shows before its body. */
    record SignedHeaders(String requestId, String userId, String timestamp, byte[] signature) {
    }

    /** The cheap checks, done before the body is read: a delivery that fails them costs no read and no hash. */
    SignedHeaders checkHeaders(String requestId, String userId, String timestamp, String signatureHex) {
        if (blank(requestId) || blank(userId) || blank(timestamp) || blank(signatureHex)) {
            throw unauthorized("The X-Fal-Webhook-Request-Id, -User-Id, -Timestamp and -Signature headers are required.");
        }
        long seconds;
        byte[] signature;
        try {
            seconds = Long.parseLong(timestamp.strip());
            signature = HexFormat.of().parseHex(signatureHex.strip());
        } catch (IllegalArgumentException e) {
            throw unauthorized("The webhook's timestamp or signature is malformed.");
        }
        if (signature.length != Ed25519PrivateKeyParameters.SIGNATURE_SIZE) {
            throw unauthorized("The webhook's signature is not an ED25519 signature.");
        }
        // compared in seconds: a timestamp beyond Instant's range is simply stale, not an exception
        long now = clock.instant().getEpochSecond();
        long allowed = settings.maxClockSkew().toSeconds();
        if (seconds < now - allowed || seconds > now + allowed) {
            throw unauthorized("The webhook's timestamp is more than " + settings.maxClockSkew().toSeconds()
                    + " seconds off.");
        }
        return new SignedHeaders(requestId, userId, timestamp.strip(), signature);
    }

    /** Whether one of fal's keys signed these headers together with this body; 401 otherwise. */
    void verify(SignedHeaders headers, byte[] body) {
        byte[] message = (headers.requestId() + "\n" + headers.userId() + "\n" + headers.timestamp() + "\n"
                + sha256Hex(body)).getBytes(StandardCharsets.UTF_8);
        byte[] signature = headers.signature();
        if (!verifiedByAny(keys.current(), message, signature) && !verifiedByAny(keys.afterUnknownKey(), message, signature)) {
            throw unauthorized("The webhook's signature is not valid.");
        }
    }

    private static boolean verifiedByAny(List<Ed25519PublicKeyParameters> candidates, byte[] message, byte[] signature) {
        for (Ed25519PublicKeyParameters key : candidates) {
            Ed25519Signer verifier = new Ed25519Signer();
            verifier.init(false, key);
            verifier.update(message, 0, message.length);
            if (verifier.verifySignature(signature)) {
                return true;
            }
        }
        return false;
    }

    private static String sha256Hex(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    private static boolean blank(String value) {
        return value == null || value.isBlank();
    }

    private static ApiException unauthorized(String detail) {
        return new ApiException(HttpStatus.UNAUTHORIZED, "unauthorized", detail);
    }
}
