package dev.falgate.fal;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Whether fal accepts our key and account. A 401 or 403 is an operator problem (bad key, exhausted
 * balance): jobs wait for it to be fixed, and this shows it as health {@code fal: DOWN} and as the metrics
 * {@code falgate.fal.refusing} (1 while refused) and {@code falgate.fal.refusals}. Any 2xx clears it.
 */
@Component("fal")
class FalAccessMonitor implements HealthIndicator {

    private record Refusal(int httpStatus, Instant since) {
    }

    private final AtomicReference<Refusal> refusal = new AtomicReference<>();
    private final Clock clock;
    private final MeterRegistry meters;

    FalAccessMonitor(Clock clock, MeterRegistry meters) {
        this.clock = clock;
        this.meters = meters;
        Gauge.builder("falgate.fal.refusing", refusal, current -> current.get() == null ? 0 : 1)
                .description("1 while fal refuses our key or account (HTTP 401/403), else 0")
                .register(meters);
    }

    void answered(int httpStatus) {
        if (httpStatus == 401 || httpStatus == 403) {
            refusal.updateAndGet(current -> current != null && current.httpStatus() == httpStatus ? current
                    : new Refusal(httpStatus, clock.instant()));
            Counter.builder("falgate.fal.refusals").description("fal calls answered 401/403")
                    .tag("status", String.valueOf(httpStatus)).register(meters).increment();
        } else if (httpStatus >= 200 && httpStatus < 300) {
            refusal.set(null);
        }
    }

    @Override
    public Health health() {
        Refusal current = refusal.get();
        if (current == null) {
            return Health.up().build();
        }
        return Health.down()
                .withDetail("reason", "fal refuses our key or account (HTTP " + current.httpStatus()
                        + "); jobs stay queued until an operator fixes FAL_KEY or the fal balance")
                .withDetail("since", current.since().toString())
                .build();
    }
}
