package dev.falgate.callback;

import java.util.Base64;
import java.util.List;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.access.Caller;
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;

/** falgate's webhook signing keys: the public JWKS (no key needed), and their rotation (admin). */
@RestController
@Tag(name = "Webhook keys", description = "The ED25519 keys falgate signs fal-format webhooks with")
class WebhookKeysController {

    private static final Logger log = LoggerFactory.getLogger(WebhookKeysController.class);

    private final WebhookSigningKeys keys;

    WebhookKeysController(WebhookSigningKeys keys) {
        this.keys = keys;
    }

    @Schema(name = "Jwk")
    record Jwk(String kty, String crv, String kid, String use, String alg,
            @Schema(description = "The raw 32-byte ED25519 public key, base64url") String x) {
    }

    @Schema(name = "Jwks")
    record Jwks(List<Jwk> keys) {
    }

    @Operation(operationId = "jwks", summary = "The public keys of falgate's fal-format webhooks (fal_webhook on the "
            + "fal-compatible routes), verified as fal's own")
    @GetMapping(path = "/.well-known/jwks.json", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Jwks> jwks() {
        List<Jwk> published = keys.published().stream().map(key -> new Jwk("OKP", "Ed25519", key.kid(), "sig", "EdDSA",
                Base64.getUrlEncoder().withoutPadding().encodeToString(key.key()))).toList();
        return ResponseEntity.ok().cacheControl(CacheControl.maxAge(WebhookSigningKeys.JWKS_CACHE).cachePublic())
                .body(new Jwks(published));
    }

    @Schema(name = "WebhookKeyRotation")
    record Rotated(String kid, @Schema(description = "When it starts signing: once receivers' cached JWKS (1 h) has "
            + "been fetched again") java.time.Instant signsFrom) {
    }

    @Operation(operationId = "rotateWebhookSigningKey", summary = "Make a new webhook signing key: published now, "
            + "signing in an hour; the one it replaces stays published for another 24 hours")
    @ApiResponse(responseCode = "201", description = "The new key's id and when it signs")
    @RequiresScope(Scope.ADMIN)
    @PostMapping(path = "/v1/webhook-signing-keys", produces = MediaType.APPLICATION_JSON_VALUE)
    @ResponseStatus(HttpStatus.CREATED)
    Rotated rotate(Caller caller) {
        WebhookSigningKeys.Rotation rotation = keys.rotate();
        log.info("Webhook signing key rotated by client {}: {} signs from {}", caller.client(), rotation.kid(),
                rotation.signsFrom());
        return new Rotated(rotation.kid(), rotation.signsFrom());
    }
}
