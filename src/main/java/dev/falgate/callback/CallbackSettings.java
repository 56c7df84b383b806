package dev.falgate.callback;

import java.time.Duration;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Signed callbacks to the caller (api.md, "Signed callbacks to the caller").
 *
 * @param allowedHosts    targets exempt from the private-address check, and the only ones reached over http: host
 *                        patterns ({@code hooks.internal}, {@code *.corp.example}) or whole origins
 *                        ({@code http://127.0.0.1:8099}) ({@code FALGATE_CALLBACK_ALLOWED_HOSTS})
 * @param retryFor        how long an event is retried before it is marked failed ({@code FALGATE_CALLBACK_RETRY_FOR})
 * @param retryBase       the first retry's delay, doubled each time up to {@code retryCap}
 * @param retryCap        the longest delay between two attempts
 * @param timeout         how long one attempt may take, connecting included
 * @param lease           how long one instance holds an event it is delivering (well over {@code timeout})
 * @param rotationOverlap how long a rotated-out secret keeps signing next to the new one
 */
@ConfigurationProperties("falgate.callback")
record CallbackSettings(
        @DefaultValue List<String> allowedHosts,
        @DefaultValue("24h") Duration retryFor,
        @DefaultValue("5s") Duration retryBase,
        @DefaultValue("1h") Duration retryCap,
        @DefaultValue("10s") Duration timeout,
        @DefaultValue("2m") Duration lease,
        @DefaultValue("24h") Duration rotationOverlap) {
}
