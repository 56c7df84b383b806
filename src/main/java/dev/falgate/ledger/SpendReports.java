package dev.falgate.ledger;

import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * What was spent: exact sums of {@code cost_usd} over the jobs that ended in {@code [from, to)}, the same
 * jobs {@code GET /v1/jobs} shows, so the totals always equal the sum over history. Read from the daily
 * rollup ({@link SpendBook}) for whole days, so a month's report reads a few hundred rows, not every job.
 */
@Service
class SpendReports {

    private final JdbcClient jdbc;

    SpendReports(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    enum GroupBy { DAY, CLIENT }

    record Group(String key, BigDecimal totalUsd, long jobs) {
    }

    record Report(Instant from, Instant to, BigDecimal totalUsd, long jobs, List<Group> groups) {
    }

    /**
     * Whole UTC days inside the window come from the daily rollup; the parts of a day at either edge of a
     * window that does not start or end at midnight come from the jobs themselves.
     */
    @Transactional(readOnly = true)
    Report report(Instant from, Instant to, String client, GroupBy groupBy, boolean sandbox) {
        LocalDate firstWholeDay = LocalDate.ofInstant(from.minusNanos(1), ZoneOffset.UTC).plusDays(1);
        LocalDate endOfWholeDays = LocalDate.ofInstant(to, ZoneOffset.UTC);
        if (!firstWholeDay.isBefore(endOfWholeDays)) {
            endOfWholeDays = firstWholeDay; // no whole day: the jobs alone answer
        }
        Instant wholeFrom = firstWholeDay.atStartOfDay().toInstant(ZoneOffset.UTC);
        Instant wholeTo = endOfWholeDays.atStartOfDay().toInstant(ZoneOffset.UTC);
        String clientFilter = client == null ? "" : " and client = :client";
        // sandbox jobs (free, never in the rollup) are reported alone, from the jobs themselves
        String parts = sandbox ? "select to_char(completed_at at time zone 'UTC', 'YYYY-MM-DD') as day, client, "
                + "cost_usd as total, 1 as jobs from job where sandbox and completed_at >= :from and completed_at < :to"
                + clientFilter : "select to_char(day, 'YYYY-MM-DD') as day, client, total_usd as total, jobs from spend_daily"
                + " where day >= :firstDay and day < :endDay" + clientFilter
                + " union all select to_char(completed_at at time zone 'UTC', 'YYYY-MM-DD'), client, cost_usd, 1 from job"
                + " where ((completed_at >= :from and completed_at < least(cast(:wholeFrom as timestamptz), cast(:to as timestamptz)))"
                + " or (completed_at >= greatest(cast(:wholeTo as timestamptz), cast(:from as timestamptz)) and completed_at < :to))"
                + " and not sandbox" + clientFilter;
        String key = groupBy == GroupBy.CLIENT ? "client" : "day";
        List<Group> groups = params(jdbc.sql("select " + key + " as key, sum(total) as total, sum(jobs) as jobs from ("
                + parts + ") parts group by 1 order by 1"), from, to, client)
                .param("firstDay", firstWholeDay).param("endDay", endOfWholeDays)
                .param("wholeFrom", Timestamp.from(wholeFrom)).param("wholeTo", Timestamp.from(wholeTo))
                .query((row, n) -> new Group(row.getString("key"), row.getBigDecimal("total"), row.getLong("jobs")))
                .list();
        BigDecimal total = groups.stream().map(Group::totalUsd).reduce(BigDecimal.ZERO, BigDecimal::add);
        long jobs = groups.stream().mapToLong(Group::jobs).sum();
        return new Report(from, to, total, jobs, groupBy == null ? List.of() : groups);
    }

    private static JdbcClient.StatementSpec params(JdbcClient.StatementSpec statement, Instant from, Instant to,
            String client) {
        statement = statement.param("from", Timestamp.from(from)).param("to", Timestamp.from(to));
        return client == null ? statement : statement.param("client", client);
    }
}
