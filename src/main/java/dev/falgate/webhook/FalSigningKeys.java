package dev.falgate.webhook;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.client.WebClient;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * fal's webhook signing keys from its JWKS, cached. Fetched without our fal key (the JWKS is public and
 * the key must never travel anywhere but fal's queue API).
 */
@Component
class FalSigningKeys {

    private static final Logger log = LoggerFactory.getLogger(FalSigningKeys.class);
    /** DER prefix of an X.509 SubjectPublicKeyInfo for a raw 32-byte Ed25519 key. */
    private static final byte[] ED25519_X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    private record Cached(List<PublicKey> keys, Instant fetchedAt) {
    }

    private final WebhookSettings settings;
    private final WebClient web;
    private final JsonMapper json;
    private final Clock clock;
    private volatile Cached cached = new Cached(List.of(), Instant.EPOCH);

    FalSigningKeys(WebhookSettings settings, WebClient.Builder builder, JsonMapper json, Clock clock) {
        this.settings = settings;
        this.web = builder.clone().build();
        this.json = json;
        this.clock = clock;
    }

    /** The keys to try, fetched anew when the cache is older than allowed. */
    List<PublicKey> current() {
        Cached now = cached;
        if (now.keys().isEmpty() || now.fetchedAt().plus(settings.keysCacheFor()).isBefore(clock.instant())) {
            return fetch(now);
        }
        return now.keys();
    }

    /** No cached key verified a signature: fal may have rotated its keys. Fetch again, but not too often. */
    List<PublicKey> afterUnknownKey() {
        Cached now = cached;
        if (now.fetchedAt().plus(settings.refetchAtMostEvery()).isAfter(clock.instant())) {
            return now.keys();
        }
        return fetch(now);
    }

    private synchronized List<PublicKey> fetch(Cached seen) {
        if (cached != seen) {
            return cached.keys(); // another thread fetched meanwhile
        }
        try {
            String body = web.get().uri(settings.jwksUrl()).accept(MediaType.APPLICATION_JSON).retrieve()
                    .bodyToMono(String.class).block(Duration.ofSeconds(10));
            List<PublicKey> keys = parse(json.readTree(body == null ? "{}" : body));
            cached = new Cached(keys, clock.instant());
            log.info("Fetched {} fal webhook signing key(s) from {}", keys.size(), settings.jwksUrl());
            return keys;
        } catch (RuntimeException e) {
            log.warn("Could not fetch fal's webhook signing keys from {}: {}", settings.jwksUrl(), e.getMessage());
            return seen.keys();
        }
    }

    private static List<PublicKey> parse(JsonNode jwks) {
        List<PublicKey> keys = new ArrayList<>();
        for (JsonNode key : jwks.path("keys")) {
            String x = key.path("x").asString("");
            try {
                byte[] raw = Base64.getUrlDecoder().decode(x.replace("=", ""));
                if (raw.length != 32) {
                    continue;
                }
                byte[] der = new byte[ED25519_X509_PREFIX.length + raw.length];
                System.arraycopy(ED25519_X509_PREFIX, 0, der, 0, ED25519_X509_PREFIX.length);
                System.arraycopy(raw, 0, der, ED25519_X509_PREFIX.length, raw.length);
                keys.add(KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der)));
            } catch (IllegalArgumentException | GeneralSecurityException e) {
                log.warn("Skipping a JWKS entry that is not an Ed25519 key");
            }
        }
        return List.copyOf(keys);
    }
}
