package dev.falgate;

import java.time.Clock;

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

    /** Every timestamp falgate writes comes from here, in UTC; tests replace it to step time by hand. */
    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }
}
