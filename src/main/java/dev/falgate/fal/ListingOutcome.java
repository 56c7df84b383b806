package dev.falgate.fal;

import java.time.Instant;
import java.util.List;

import tools.jackson.databind.JsonNode;

/** A page of fal's Platform API request listing for our endpoint, or why it could not be had. */
public sealed interface ListingOutcome {

    /** The requests fal lists (newest first) and the cursor of the next page, null on the last one. */
    record Page(List<Listed> items, String nextCursor) implements ListingOutcome {
    }

    record Unavailable(String reason) implements ListingOutcome {
    }

    /** One request our account made to the endpoint, with the input fal received ({@code json_input}). */
    record Listed(String requestId, Instant startedAt, JsonNode input) {
    }
}
