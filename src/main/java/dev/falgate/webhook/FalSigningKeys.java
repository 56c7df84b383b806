package dev.falgate.webhook;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
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
    private record Cached(List<Ed25519PublicKeyParameters> keys, Instant fetchedAt) {
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
    List<Ed25519PublicKeyParameters> current() {
        Cached now = cached;
        if (now.keys().isEmpty() || now.fetchedAt().plus(settings.keysCacheFor()).isBefore(clock.instant())) {
            return fetch(now);
        }
        return now.keys();
    }

    /** No cached key verified a signature: fal may have rotated its keys. Fetch again, but not too often. */
    List<Ed25519PublicKeyParameters> afterUnknownKey() {
        Cached now = cached;
        if (now.fetchedAt().plus(settings.refetchAtMostEvery()).isAfter(clock.instant())) {
            return now.keys();
        }
        return fetch(now);
    }

    private synchronized List<Ed25519PublicKeyParameters> fetch(Cached seen) {
        if (cached != seen) {
            return cached.keys(); // another thread fetched meanwhile
        }
        try {
            String body = web.get().uri(settings.jwksUrl()).accept(MediaType.APPLICATION_JSON).retrieve()
                    .bodyToMono(String.class).block(Duration.ofSeconds(10));
            List<Ed25519PublicKeyParameters> keys = parse(json.readTree(body == null ? "{}" : body));
            cached = new Cached(keys, clock.instant());
            log.info("Fetched {} fal webhook signing key(s) from {}", keys.size(), settings.jwksUrl());
            return keys;
        } catch (RuntimeException e) {
            log.warn("Could not fetch fal's webhook signing keys from {}: {}", settings.jwksUrl(), e.getMessage());
            return seen.keys();
        }
    }

    private static List<Ed25519PublicKeyParameters> parse(JsonNode jwks) {
        List<Ed25519PublicKeyParameters> keys = new ArrayList<>();
        for (JsonNode key : jwks.path("keys")) {
            String x = key.path("x").asString("");
            try {
                byte[] raw = Base64.getUrlDecoder().decode(x.replace("=", ""));
                if (raw.length != 32) {
                    continue;
                }
                keys.add(new Ed25519PublicKeyParameters(raw, 0)); // decodes (and checks) the point once
            } catch (IllegalArgumentException e) {
                log.warn("Skipping a JWKS entry that is not an Ed25519 key");
            }
        }
        return List.copyOf(keys);
    }
}
