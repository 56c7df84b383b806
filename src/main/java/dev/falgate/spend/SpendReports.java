package dev.falgate.spend;

import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * What was spent: exact sums of {@code cost_usd} over the jobs that ended in {@code [from, to)}, the same
 * jobs {@code GET /v1/jobs} shows, so the totals always equal the sum over history.
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

    @Transactional(readOnly = true)
    Report report(Instant from, Instant to, String client, GroupBy groupBy) {
        String where = " from job where completed_at >= :from and completed_at < :to"
                + (client == null ? "" : " and client = :client");
        Map<String, Object> total = params(jdbc.sql("select coalesce(sum(cost_usd), 0) as total, count(*) as jobs" + where),
                from, to, client).query().singleRow();
        List<Group> groups = List.of();
        if (groupBy != null) {
            String key = groupBy == GroupBy.DAY ? "to_char(completed_at at time zone 'UTC', 'YYYY-MM-DD')" : "client";
            groups = params(jdbc.sql("select " + key + " as key, sum(cost_usd) as total, count(*) as jobs" + where
                    + " group by 1 order by 1"), from, to, client)
                    .query((row, n) -> new Group(row.getString("key"), row.getBigDecimal("total"), row.getLong("jobs")))
                    .list();
        }
        return new Report(from, to, (BigDecimal) total.get("total"), ((Number) total.get("jobs")).longValue(), groups);
    }

    private static JdbcClient.StatementSpec params(JdbcClient.StatementSpec statement, Instant from, Instant to,
            String client) {
        statement = statement.param("from", Timestamp.from(from)).param("to", Timestamp.from(to));
        return client == null ? statement : statement.param("client", client);
    }
}
