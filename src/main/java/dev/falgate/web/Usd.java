package dev.falgate.web;

import java.math.BigDecimal;

/** Dollar amounts as api.md writes them: exact decimal strings with at least two decimals. */
public final class Usd {

    /** What {@link #format} writes, for the OpenAPI document's money fields. */
    public static final String PATTERN = "^[0-9]+\\.[0-9]{2,}$";

    private Usd() {
    }

    /** {@code 0.12}, {@code 12.36}, {@code 0.0035}; null stays null (a cost not known yet). */
    public static String format(BigDecimal amount) {
        if (amount == null) {
            return null;
        }
        BigDecimal plain = amount.stripTrailingZeros();
        return plain.setScale(Math.max(2, plain.scale())).toPlainString();
    }
}
