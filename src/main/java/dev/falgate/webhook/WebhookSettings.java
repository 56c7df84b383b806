package dev.falgate.webhook;

import java.net.URI;
import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How fal's webhooks are trusted.
 *
 * @param jwksUrl          where fal publishes its ED25519 signing keys ({@code FALGATE_FAL_JWKS_URL},
 *                         default {@code https://rest.fal.ai/.well-known/jwks.json})
 * @param maxClockSkew     how far a delivery's timestamp may be from our clock (default 300s)
 * @param keysCacheFor     how long fetched keys are trusted before they are fetched again (default 1h; fal
 *                         allows at most 24h)
 * @param refetchAtMostEvery the least time between two fetches prompted by a signature no cached key verifies
 *                         (default 30s), so forged deliveries cannot make us hammer the JWKS URL
 */
@ConfigurationProperties("falgate.webhook")
record WebhookSettings(
        @DefaultValue("https://rest.fal.ai/.well-known/jwks.json") URI jwksUrl,
        @DefaultValue("300s") Duration maxClockSkew,
        @DefaultValue("1h") Duration keysCacheFor,
        @DefaultValue("30s") Duration refetchAtMostEvery) {
}
