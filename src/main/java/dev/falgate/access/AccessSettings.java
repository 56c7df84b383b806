package dev.falgate.access;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * @param adminKey the bootstrap key with every scope and client {@code admin} ({@code FALGATE_ADMIN_KEY},
 *                 at least 32 characters, no default). Checked by {@code RequiredSettings} before start-up,
 *                 not by bean validation, whose failure report would print the value.
 * @param maxStreamsPerKey how many SSE streams and CSV exports one key may hold open at once
 *                 ({@code FALGATE_MAX_STREAMS_PER_KEY}); more are refused with 429
 */
@ConfigurationProperties("falgate.access")
record AccessSettings(String adminKey, @DefaultValue("20") int maxStreamsPerKey) {

    static final String ADMIN_CLIENT = "admin";

    @Override
    public String toString() {
        return "AccessSettings[adminKey=<redacted>, maxStreamsPerKey=" + maxStreamsPerKey + "]";
    }
}
