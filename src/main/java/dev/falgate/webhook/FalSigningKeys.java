package dev.falgate.webhook;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

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
 * the key must never travel anywhere but fal's queue API). One fetch at a time (single flight): a caller that
 * finds a fetch under way uses the keys it has instead of waiting. Failures are remembered: after {@code n} in
 * a row the next try waits {@code refetchAtMostEvery × 2^n} (at most 10 minutes), so however many deliveries
 * arrive (forged ones included) the JWKS URL sees at most two fetches a minute, and fewer while it is down.
 */
@Component
class FalSigningKeys {

    private static final Logger log = LoggerFactory.getLogger(FalSigningKeys.class);
    private static final Duration MAX_BACKOFF = Duration.ofMinutes(10);

    /** The keys, when they were fetched, and the last attempt with the failures in a row that ended it. */
    private record Cached(List<Ed25519PublicKeyParameters> keys, Instant fetchedAt, Instant triedAt, int failures) {
    }

    private final WebhookSettings settings;
    private final WebClient web;
    private final JsonMapper json;
    private final Clock clock;
    private final AtomicBoolean fetching = new AtomicBoolean();
    private volatile Cached cached = new Cached(List.of(), Instant.EPOCH, Instant.EPOCH, 0);

    FalSigningKeys(WebhookSettings settings, WebClient.Builder builder, JsonMapper json, Clock clock) {
        this.settings = settings;
        this.web = builder.clone().build();
        this.json = json;
        this.clock = clock;
    }

    /** The keys to try, fetched anew (if a fetch is allowed now) when there are none or they are too old. */
    List<Ed25519PublicKeyParameters> current() {
        Cached now = cached;
        if (now.keys().isEmpty() || now.fetchedAt().plus(settings.keysCacheFor()).isBefore(clock.instant())) {
            return fetchIfAllowed();
        }
        return now.keys();
    }

    /** No cached key verified a signature: fal may have rotated its keys. Fetch again, if a fetch is allowed now. */
    List<Ed25519PublicKeyParameters> afterUnknownKey() {
        return fetchIfAllowed();
    }

    private List<Ed25519PublicKeyParameters> fetchIfAllowed() {
        Cached seen = cached;
        Duration wait = settings.refetchAtMostEvery().multipliedBy(1L << Math.min(seen.failures(), 20));
        Instant allowedAt = seen.triedAt().plus(wait.compareTo(MAX_BACKOFF) < 0 ? wait : MAX_BACKOFF);
        if (clock.instant().isBefore(allowedAt) || !fetching.compareAndSet(false, true)) {
            return seen.keys(); // too soon after the last try, or another caller is fetching: no one waits on it
        }
        try {
            return fetch(seen);
        } finally {
            fetching.set(false);
        }
    }

    private List<Ed25519PublicKeyParameters> fetch(Cached seen) {
        Instant now = clock.instant();
        try {
            String body = web.get().uri(settings.jwksUrl()).accept(MediaType.APPLICATION_JSON).retrieve()
                    .bodyToMono(String.class).block(Duration.ofSeconds(10));
            List<Ed25519PublicKeyParameters> keys = parse(json.readTree(body == null ? "{}" : body));
            cached = new Cached(keys, now, now, 0);
            log.info("Fetched {} fal webhook signing key(s) from {}", keys.size(), settings.jwksUrl());
            return keys;
        } catch (RuntimeException e) {
            cached = new Cached(seen.keys(), seen.fetchedAt(), now, seen.failures() + 1);
            log.warn("Could not fetch fal's webhook signing keys from {} ({} in a row): {}", settings.jwksUrl(),
                    seen.failures() + 1, e.getMessage());
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
