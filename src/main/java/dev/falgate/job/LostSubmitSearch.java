package dev.falgate.job;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;

import org.springframework.stereotype.Component;

import dev.falgate.fal.FalClient;
import dev.falgate.fal.ListingOutcome;
import dev.falgate.ledger.FalRequestLedger;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Finds the request a submit whose answer was lost may have created, in fal's Platform API listing of our
 * requests to the endpoint: one whose input is exactly the job's effective input, created in the window around
 * the submit, and not already any job's. fal has no idempotency key, so this (or fal's webhook) is the only way
 * to learn of such a request without paying for a second one.
 */
@Component
class LostSubmitSearch {

    /** fal's clock and ours differ, and the request is created some time after our submit began. */
    private static final Duration MARGIN = Duration.ofMinutes(1);
    /** At most this many pages are read; a window holding more cannot be searched, and the job waits. */
    private static final int MAX_PAGES = 100;

    /** What the listing says about the lost submit. */
    sealed interface Finding {
    }

    /** fal holds a request with the job's input, made in the submit's window, that no job owns. */
    record Found(String requestId) implements Finding {
    }

    /** The listing answered in full and holds no such request. */
    record NotFound() implements Finding {
    }

    /** The listing could not answer (or the window is too large to read): nothing can be concluded. */
    record Unavailable(String reason) implements Finding {
    }

    private final FalRequestLedger ledger;
    private final JsonMapper json;

    LostSubmitSearch(FalRequestLedger ledger, JsonMapper json) {
        this.ledger = ledger;
        this.json = json;
    }

    /**
     * Searches requests listed from a minute before {@code submitStartedAt} until {@code now}: fal's
     * {@code started_at} may be when the request began to run, long after it was created, so the window does not
     * end at the submit's answer.
     */
    Finding search(FalClient fal, String inputJson, Instant submitStartedAt, Instant now) {
        JsonNode input = json.readTree(inputJson);
        Instant start = submitStartedAt.minus(MARGIN);
        Instant end = now.plus(MARGIN);
        Optional<ListingOutcome.Listed> best = Optional.empty();
        String cursor = null;
        for (int page = 0; page < MAX_PAGES; page++) {
            ListingOutcome outcome = fal.listRequests(start, end, cursor);
            if (outcome instanceof ListingOutcome.Unavailable unavailable) {
                return new Unavailable(unavailable.reason());
            }
            ListingOutcome.Page listed = (ListingOutcome.Page) outcome;
            for (ListingOutcome.Listed candidate : listed.items()) {
                if (candidate.input() == null || candidate.input().isMissingNode() || candidate.input().isNull()) {
                    // without the inputs nothing can be ruled out: concluding "not there" could bill twice
                    return new Unavailable("fal's listing shows request " + candidate.requestId() + " without its input");
                }
                if (sameInput(input, candidate.input()) && ledger.findById(candidate.requestId()).isEmpty()
                        && (best.isEmpty() || closer(candidate, best.get(), submitStartedAt))) {
                    best = Optional.of(candidate);
                }
            }
            cursor = listed.nextCursor();
            if (cursor == null) {
                return best.<Finding>map(found -> new Found(found.requestId())).orElseGet(NotFound::new);
            }
        }
        return new Unavailable("more than " + MAX_PAGES + " pages of requests in the submit's window");
    }

    /** Of two requests with the same input (identical jobs), the one made nearest our submit is ours. */
    private static boolean closer(ListingOutcome.Listed candidate, ListingOutcome.Listed best, Instant submit) {
        Comparator<ListingOutcome.Listed> distance = Comparator.comparing(listed -> listed.startedAt() == null
                ? Duration.ofDays(365) : Duration.between(submit, listed.startedAt()).abs());
        return distance.compare(candidate, best) < 0;
    }

    /** Exactly the same JSON, field order aside, numbers compared by value (fal may echo 3 as 3.0). */
    private static boolean sameInput(JsonNode ours, JsonNode listed) {
        return listed != null && ours.equals((a, b) -> {
            if (a.isNumber() && b.isNumber()) {
                BigDecimal x = a.decimalValue();
                BigDecimal y = b.decimalValue();
                return x.compareTo(y) == 0 ? 0 : 1;
            }
            return a.equals(b) ? 0 : 1;
        }, listed);
    }
}
