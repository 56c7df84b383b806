package dev.falgate.job;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/**
 * Job metrics: {@code falgate.jobs} counts jobs entering each status per client, and {@code falgate.spend.usd}
 * adds what is booked per client (for dashboards; the books themselves are exact decimals in PostgreSQL).
 */
@Component
class JobMetrics {

    private final MeterRegistry meters;
    /** Since when fal's request listing has failed to answer a lost submit's search; null while it answers. */
    private final AtomicReference<Instant> listingFailingSince = new AtomicReference<>();

    JobMetrics(MeterRegistry meters) {
        this.meters = meters;
        Gauge.builder("falgate.fal.listing.failing", listingFailingSince, since -> since.get() == null ? 0 : 1)
                .description("1 while fal's request listing cannot answer: jobs whose submit answer was lost wait")
                .register(meters);
    }

    /** A lost submit's search in fal's request listing ended with {@code finding}. */
    void lostSubmitSearched(LostSubmitSearch.Finding finding) {
        String outcome = finding instanceof LostSubmitSearch.Found ? "found"
                : finding instanceof LostSubmitSearch.NotFound ? "not_found" : "unavailable";
        Counter.builder("falgate.fal.lost.submit.searches")
                .description("Searches of fal's request listing for a submit whose answer was lost, by outcome")
                .tag("outcome", outcome).register(meters).increment();
        if (finding instanceof LostSubmitSearch.Unavailable) {
            listingFailingSince.compareAndSet(null, Instant.now());
        } else {
            listingFailingSince.set(null);
        }
    }

    /** Since when the request listing has failed to answer, or null. */
    Instant listingFailingSince() {
        return listingFailingSince.get();
    }

    /** A fal request could not be settled within its bounded tries: booked unsettled at 0.00 for ops to check. */
    void unsettled() {
        Counter.builder("falgate.fal.requests.unsettled")
                .description("fal requests given up on unsettled (booked 0.00); reconcile with fal's invoice")
                .register(meters).increment();
    }

    /** The job just entered its current status. */
    void entered(Job job) {
        Counter.builder("falgate.jobs").description("Jobs entering a status, per client")
                .tag("status", job.status().value()).tag("client", job.client()).register(meters).increment();
        if (job.status().isTerminal() && !job.isSandbox()) {
            booked(job.client(), job.costUsd());
        }
    }

    /** {@code amount} more was booked for the client's jobs (a job ended, or a late duplicate was billed). */
    void booked(String client, BigDecimal amount) {
        if (amount != null && amount.signum() != 0) {
            Counter.builder("falgate.spend.usd").description("US dollars booked for jobs, per client")
                    .tag("client", client).register(meters).increment(amount.doubleValue());
        }
    }
}
