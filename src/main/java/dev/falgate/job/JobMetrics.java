package dev.falgate.job;

import java.math.BigDecimal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/**
 * Job metrics: {@code falgate.jobs} counts jobs entering each status per client, and {@code falgate.spend.usd}
 * adds what is booked per client (for dashboards; the books themselves are exact decimals in PostgreSQL).
 */
@Component
class JobMetrics {

    private final MeterRegistry meters;

    JobMetrics(MeterRegistry meters) {
        this.meters = meters;
    }

    /** The job just entered its current status. */
    void entered(Job job) {
        Counter.builder("falgate.jobs").description("Jobs entering a status, per client")
                .tag("status", job.status().value()).tag("client", job.client()).register(meters).increment();
        if (job.status().isTerminal()) {
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
