package dev.falgate.fal;

import java.math.BigDecimal;

/** fal's view of a request, or why it could not be had (status calls are safe to repeat). */
public sealed interface StatusOutcome {

    record InQueue(Integer queuePosition) implements StatusOutcome {
    }

    record InProgress() implements StatusOutcome {
    }

    /** Finished: succeeded when {@code error} is null; failed or cancelled otherwise. */
    record Completed(String error, String errorType, BigDecimal inferenceTimeSeconds) implements StatusOutcome {

        public boolean succeeded() {
            return error == null;
        }
    }

    /** fal answered 404: it does not know the request (any more). */
    record NotFound() implements StatusOutcome {
    }

    record Unavailable(String reason) implements StatusOutcome {
    }
}
