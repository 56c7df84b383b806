package dev.falgate;

import java.time.Clock;

import javax.sql.DataSource;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Bean;
import org.springframework.scheduling.annotation.EnableScheduling;

@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class FalgateApplication {

    public static void main(String[] args) {
        SpringApplication.run(FalgateApplication.class, args);
    }

    /**
     * Every timestamp falgate writes or compares comes from here, in UTC: this instance's clock corrected to
     * PostgreSQL's, so that instances whose clocks disagree still agree on leases and due times. Closed (its
     * refresh thread stopped) with the context. Tests replace it with a {@code @Primary} clock they step by hand.
     */
    @Bean
    DatabaseClock clock(DataSource dataSource) {
        return new DatabaseClock(dataSource, Clock.systemUTC());
    }

    /** {@code falgate.clock.offset.seconds}: PostgreSQL's clock minus this instance's, as last measured. */
    @Bean
    MeterBinder clockOffsetMetric(DatabaseClock clock) {
        return registry -> Gauge.builder("falgate.clock.offset.seconds", clock, c -> c.offset().toNanos() / 1e9)
                .description("PostgreSQL's clock minus this instance's clock, as last measured")
                .register(registry);
    }
}
