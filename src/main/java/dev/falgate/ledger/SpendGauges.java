package dev.falgate.ledger;

import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Gauges read from the database every 30 s (the same for every instance): {@code falgate.jobs.in.flight}
 * per client and {@code falgate.budget.left.usd} per budgeted client.
 */
@Component
class SpendGauges {

    private final JdbcClient jdbc;
    private final Budgets budgets;
    private final MultiGauge inFlight;
    private final MultiGauge budgetLeft;

    SpendGauges(JdbcClient jdbc, Budgets budgets, MeterRegistry meters) {
        this.jdbc = jdbc;
        this.budgets = budgets;
        this.inFlight = MultiGauge.builder("falgate.jobs.in.flight")
                .description("Jobs queued here or at fal, per client").register(meters);
        this.budgetLeft = MultiGauge.builder("falgate.budget.left.usd")
                .description("What a client's monthly budget still admits, in US dollars").register(meters);
    }

    @Scheduled(fixedDelay = 30_000, initialDelay = 5_000)
    void refresh() {
        List<Map<String, Object>> counts = jdbc.sql("select client, count(*) as jobs from job "
                + "where " + Budgets.IN_FLIGHT + " group by client").query().listOfRows();
        inFlight.register(counts.stream().map(row -> MultiGauge.Row.of(Tags.of("client", (String) row.get("client")),
                ((Number) row.get("jobs")).doubleValue())).toList(), true);
        budgetLeft.register(budgets.all().stream().map(standing -> MultiGauge.Row.of(
                Tags.of("client", standing.client()), standing.left().doubleValue())).toList(), true);
    }
}
