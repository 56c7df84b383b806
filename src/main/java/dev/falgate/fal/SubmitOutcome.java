package dev.falgate.fal;

import java.time.Duration;

import tools.jackson.databind.JsonNode;

/** What became of a submit. Only {@link Unknown} leaves open whether fal created (and will bill) a request. */
public sealed interface SubmitOutcome {

    /** fal created the request. */
    record Accepted(FalRequest request, Integer queuePosition) implements SubmitOutcome {
    }

    /** fal answered with a client error (e.g. 422): nothing was created and sending it again would not help. */
    record Rejected(int httpStatus, JsonNode detail, String errorType) implements SubmitOutcome {
    }

    /**
     * Nothing was created (fal answered 5xx, 429, 401/403, or the connection failed before the request was
     * sent): the same submit may be sent again, after {@code retryAfter} when fal named one.
     * {@code operatorProblem} marks a refusal of our key or account, which only an operator can fix.
     */
    record Retryable(String reason, Integer httpStatus, Duration retryAfter, boolean operatorProblem)
            implements SubmitOutcome {
    }

    /** The request left but no answer came back (timeout, reset): fal may hold it. Never re-send blindly. */
    record Unknown(String reason) implements SubmitOutcome {
    }
}
