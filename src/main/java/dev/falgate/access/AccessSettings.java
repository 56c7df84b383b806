package dev.falgate.access;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param adminKey the bootstrap key with every scope and client {@code admin} ({@code FALGATE_ADMIN_KEY},
 *                 at least 32 characters, no default). Checked by {@code RequiredSettings} before start-up,
 *                 not by bean validation, whose failure report would print the value.
 */
@ConfigurationProperties("falgate.access")
record AccessSettings(String adminKey) {

    static final String ADMIN_CLIENT = "admin";

    @Override
    public String toString() {
        return "AccessSettings[adminKey=<redacted>]";
    }
}
