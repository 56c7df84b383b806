package dev.falgate.ledger;

import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.util.Assert;

import dev.falgate.web.ApiException;
import dev.falgate.web.Usd;
import dev.falgate.web.FieldProblem;

/**
 * Monthly budgets per client. A job is admitted while the month's spend, plus the price of the client's
 * jobs still in flight (reserved), plus its own price stays within the budget. Admission runs in the
 * transaction that inserts the job and locks the client's budget row, so concurrent submits are admitted
 * one after another and a budget of N jobs admits exactly N. A job that ends without a video releases its
 * reservation (its cost is 0.00); one that completes is settled at its cost.
 */
@Service
public class Budgets {

    /**
     * The jobs whose price is reserved against their client's budget: the one spelling of "in flight" (matching the
     * partial index {@code job_client_in_flight}); every other job has its cost booked.
     */
    static final String IN_FLIGHT = "status in ('queued', 'submitted', 'in_progress') and not sandbox";

    private final JdbcClient jdbc;
    private final Clock clock;

    Budgets(JdbcClient jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    /** A client's budget and where it stands this month (UTC). */
    record Standing(String client, BigDecimal monthlyUsd, BigDecimal spentUsd, BigDecimal inFlightUsd, YearMonth month) {

        BigDecimal left() {
            return monthlyUsd.subtract(spentUsd).subtract(inFlightUsd);
        }
    }

    /**
     * Locks the budgets of those of {@code clients} that have one, in the order of their names (so two
     * instances admitting overlapping groups of clients cannot deadlock), and returns the admission that then
     * decides job by job. Must run inside the transaction that inserts the admitted jobs, or the lock means
     * nothing: a concurrent admission for the same client waits until these jobs are in.
     */
    public Admission lock(Collection<String> clients) {
        Assert.state(TransactionSynchronizationManager.isActualTransactionActive(),
                "a budget is checked inside the transaction that inserts the job, or its lock means nothing");
        Map<String, BigDecimal> limits = new HashMap<>();
        jdbc.sql("select client, monthly_usd from client_budget where client in (:clients) order by client for update")
                .param("clients", clients)
                .query(row -> { limits.put(row.getString("client"), row.getBigDecimal("monthly_usd")); });
        Map<String, Standing> standings = new HashMap<>();
        limits.forEach((client, limit) -> standings.put(client, standing(client, limit)));
        return new Admission(standings);
    }

    /** Decides, under the budgets' locks, which jobs fit; each admitted job reserves its price for the next. */
    public static final class Admission {

        private final Map<String, Standing> standings;
        private final Map<String, BigDecimal> admittedUsd = new HashMap<>();

        private Admission(Map<String, Standing> standings) {
            this.standings = standings;
        }

        /** Reserves {@code price} for one more job of the client, or refuses it with 402 when it does not fit. */
        public void admit(String client, BigDecimal price) {
            Standing standing = standings.get(client);
            if (standing == null) {
                return; // no budget
            }
            BigDecimal admitted = admittedUsd.getOrDefault(client, BigDecimal.ZERO);
            BigDecimal inFlight = standing.inFlightUsd().add(admitted);
            BigDecimal left = standing.left().subtract(admitted);
            if (price.compareTo(left) > 0) {
                throw new ApiException(HttpStatus.PAYMENT_REQUIRED, "budget_exceeded", "Client " + client
                        + " has " + Usd.format(left.max(BigDecimal.ZERO)) + " USD of its "
                        + Usd.format(standing.monthlyUsd()) + " USD budget left for " + standing.month() + " ("
                        + Usd.format(standing.spentUsd()) + " spent, " + Usd.format(inFlight)
                        + " in flight); this job costs " + Usd.format(price) + " USD.");
            }
            admittedUsd.put(client, admitted.add(price));
        }
    }

    @Transactional
    Standing set(String client, BigDecimal monthlyUsd) {
        jdbc.sql("""
                insert into client_budget (client, monthly_usd, updated_at) values (:client, :limit, :now)
                on conflict (client) do update set monthly_usd = :limit, updated_at = :now
                """).param("client", client).param("limit", monthlyUsd).param("now", Timestamp.from(clock.instant()))
                .update();
        return standing(client, monthlyUsd);
    }

    @Transactional(readOnly = true)
    Standing get(String client) {
        BigDecimal limit = jdbc.sql("select monthly_usd from client_budget where client = ?").param(client)
                .query(BigDecimal.class).optional()
                .orElseThrow(() -> ApiException.notFound("Client " + client + " has no budget."));
        return standing(client, limit);
    }

    /** Every budgeted client's standing, for the metrics. */
    @Transactional(readOnly = true)
    List<Standing> all() {
        List<Map<String, Object>> rows = jdbc.sql("select client, monthly_usd from client_budget").query().listOfRows();
        return rows.stream().map(row -> standing((String) row.get("client"), (BigDecimal) row.get("monthly_usd"))).toList();
    }

    private Standing standing(String client, BigDecimal limit) {
        YearMonth month = YearMonth.from(clock.instant().atZone(ZoneOffset.UTC));
        BigDecimal spent = jdbc.sql("select coalesce(sum(total_usd), 0) from spend_daily "
                        + "where client = :client and day >= :start and day < :end")
                .param("client", client).param("start", month.atDay(1)).param("end", month.plusMonths(1).atDay(1))
                .query(BigDecimal.class).single();
        BigDecimal inFlight = jdbc.sql("select coalesce(sum(price_usd), 0) from job "
                        + "where client = :client and " + IN_FLIGHT)
                .param("client", client).query(BigDecimal.class).single();
        return new Standing(client, limit, spent, inFlight, month);
    }

    /** A budget as api.md writes it: a decimal string of dollars, not negative, at most six decimals. */
    static BigDecimal parseAmount(Object value) {
        if (value instanceof String text) {
            try {
                BigDecimal amount = new BigDecimal(text);
                if (amount.signum() >= 0 && amount.scale() <= 6 && amount.compareTo(new BigDecimal("100000000")) < 0) {
                    return amount;
                }
            } catch (NumberFormatException e) {
                // named below
            }
        }
        throw ApiException.validationFailed(List.of(new FieldProblem("monthly_usd",
                "must be a decimal string of US dollars such as \"100.00\", not negative")));
    }
}
