package dev.falgate.fal;

import java.math.BigDecimal;

import tools.jackson.databind.JsonNode;

/** The answer of a finished request (result calls are safe to repeat). */
public sealed interface ResultOutcome {

    /** The model's output, every field as fal sent it, and what fal billed for it. */
    record Output(JsonNode body, BigDecimal billableUnits) implements ResultOutcome {
    }

    /** The model's error (e.g. 422 with {@code detail}), and what fal billed for it, if anything. */
    record ModelError(int httpStatus, JsonNode detail, String errorType, BigDecimal billableUnits)
            implements ResultOutcome {
    }

    record Unavailable(String reason) implements ResultOutcome {
    }
}
