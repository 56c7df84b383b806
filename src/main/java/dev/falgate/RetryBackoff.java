package dev.falgate;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter for background work that retries (archive copies, callback deliveries): the
 * n-th retry waits {@code base × 2^(n−1)}, at most {@code cap}, plus up to 20 % so instances don't retry in step.
 */
public record RetryBackoff(Duration base, Duration cap) {

    public Duration after(int attempts) {
        long base = this.base.toMillis();
        long delay = Math.min(cap.toMillis(), base << Math.min(20, Math.max(0, attempts - 1)));
        return Duration.ofMillis(delay + ThreadLocalRandom.current().nextLong(delay / 5 + 1));
    }
}
