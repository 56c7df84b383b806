package dev.falgate.job;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.namedparam.MapSqlParameterSource;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;
import dev.falgate.web.StorableInstant;
import dev.falgate.web.Usd;
import io.swagger.v3.oas.annotations.media.Schema;

/**
 * Job history, newest first, paged with a keyset cursor over ({@code created_at}, {@code id}): a page is
 * "everything older than the last job you saw", so jobs arriving meanwhile are neither skipped nor
 * repeated. The same query streams as CSV, row by row from a database cursor, never held in memory.
 */
@Component
class JobHistory {

    static final String CSV_COLUMNS = "id,client,status,created_at,submitted_at,started_at,completed_at,"
            + "fal_request_id,attempts,cost_usd,seed,video_url,error_code";
    static final String CSV_HEADER = CSV_COLUMNS + "\r\n";

    private final NamedParameterJdbcTemplate jdbc;
    private final NamedParameterJdbcTemplate streaming;
    private final TransactionTemplate tx;

    JobHistory(NamedParameterJdbcTemplate jdbc, DataSource dataSource, TransactionTemplate tx) {
        this.jdbc = jdbc;
        JdbcTemplate fetchingInBatches = new JdbcTemplate(dataSource);
        fetchingInBatches.setFetchSize(500);
        this.streaming = new NamedParameterJdbcTemplate(fetchingInBatches);
        this.tx = tx;
    }

    /**
     * What to list: every filter is optional; {@code client} is already narrowed to what the caller may see;
     * {@code limit} is null when the caller named none.
     */
    record Filter(JobStatus status, String client, Instant createdFrom, Instant createdTo, Cursor after, Integer limit) {
    }

    /** The position after the last job of a page. Opaque to callers: base64url of "epoch micros:id". */
    record Cursor(Instant createdAt, UUID id) {

        String encode() {
            long micros = createdAt.getEpochSecond() * 1_000_000 + createdAt.getNano() / 1_000;
            return Base64.getUrlEncoder().withoutPadding()
                    .encodeToString((micros + ":" + id).getBytes(StandardCharsets.US_ASCII));
        }

        static Cursor decode(String text) {
            try {
                String[] parts = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.US_ASCII).split(":", 2);
                long micros = Long.parseLong(parts[0]);
                Instant createdAt = Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000),
                        Math.floorMod(micros, 1_000_000) * 1_000L);
                if (!StorableInstant.holds(createdAt)) {
                    throw new IllegalArgumentException("a cursor out of range"); // not one this API gave out
                }
                return new Cursor(createdAt, UUID.fromString(parts[1]));
            } catch (RuntimeException e) {
                throw ApiException.validationFailed(List.of(new FieldProblem("cursor",
                        "is not a cursor this API gave out")));
            }
        }
    }

    record Page(List<JobResource> data,
            @Schema(nullable = true, description = "The cursor of the next page; null on the last") String nextCursor) {
    }

    Page page(Filter filter, int limit) {
        MapSqlParameterSource params = new MapSqlParameterSource();
        String sql = "select * from job" + where(filter, params) + " order by created_at desc, id desc limit :limit";
        params.addValue("limit", limit + 1);
        List<JobResource> rows = new ArrayList<>(jdbc.query(sql, params, (row, n) -> resource(row)));
        String next = null;
        if (rows.size() > limit) {
            rows.remove(limit);
            JobResource last = rows.get(limit - 1);
            next = new Cursor(last.createdAt(), last.id()).encode();
        }
        return new Page(rows, next);
    }

    /** Writes every matching job as a CSV row, fetched from the database 500 rows at a time. */
    void writeCsv(Filter filter, OutputStream out) {
        MapSqlParameterSource params = new MapSqlParameterSource();
        String sql = "select id, client, status, created_at, submitted_at, started_at, completed_at, fal_request_id, "
                + "attempts, cost_usd, seed, video_url, error ->> 'code' as error_code from job" + where(filter, params)
                + " order by created_at desc, id desc" + (filter.limit() == null ? "" : " limit " + filter.limit());
        Writer writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
        tx.executeWithoutResult(status -> { // a cursor needs a transaction in PostgreSQL
            try {
                writer.write(CSV_HEADER);
                streaming.query(sql, params, row -> {
                    try {
                        writer.write(csvRow(row));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                writer.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static String where(Filter filter, MapSqlParameterSource params) {
        StringBuilder where = new StringBuilder(" where true");
        if (filter.status() != null) {
            where.append(" and status = :status");
            params.addValue("status", filter.status().value());
        }
        if (filter.client() != null) {
            where.append(" and client = :client");
            params.addValue("client", filter.client());
        }
        if (filter.createdFrom() != null) {
            where.append(" and created_at >= :createdFrom");
            params.addValue("createdFrom", Timestamp.from(filter.createdFrom()));
        }
        if (filter.createdTo() != null) {
            where.append(" and created_at < :createdTo");
            params.addValue("createdTo", Timestamp.from(filter.createdTo()));
        }
        if (filter.after() != null) {
            where.append(" and (created_at, id) < (:afterCreatedAt, :afterId)");
            params.addValue("afterCreatedAt", Timestamp.from(filter.after().createdAt()));
            params.addValue("afterId", filter.after().id());
        }
        return where.toString();
    }

    private static JobResource resource(ResultSet row) throws SQLException {
        return new JobResource(row.getObject("id", UUID.class), row.getString("client"),
                JobStatus.of(row.getString("status")), row.getString("input"), row.getString("metadata"),
                row.getString("fal_request_id"), (Integer) row.getObject("queue_position"), row.getString("result"),
                Usd.format(row.getBigDecimal("cost_usd")), row.getString("error"), row.getInt("attempts"),
                instant(row, "cancel_requested_at"), instant(row, "created_at"), instant(row, "submitted_at"),
                instant(row, "started_at"), instant(row, "completed_at"), instant(row, "deadline_at"));
    }

    private static String csvRow(ResultSet row) throws SQLException {
        return String.join(",", List.of(
                csv(row.getString("id")), csv(row.getString("client")), csv(row.getString("status")),
                csv(text(instant(row, "created_at"))), csv(text(instant(row, "submitted_at"))),
                csv(text(instant(row, "started_at"))), csv(text(instant(row, "completed_at"))),
                csv(row.getString("fal_request_id")), csv(row.getString("attempts")),
                csv(Usd.format(row.getBigDecimal("cost_usd"))), csv(row.getString("seed")),
                csv(row.getString("video_url")), csv(row.getString("error_code")))) + "\r\n";
    }

    /** RFC 4180 quoting; a leading =, +, - or @ is defused so a spreadsheet never runs it as a formula. */
    private static String csv(String value) {
        if (value == null) {
            return "";
        }
        String safe = !value.isEmpty() && "=+-@".indexOf(value.charAt(0)) >= 0 && !value.matches("-?[0-9.]+")
                ? "'" + value : value;
        boolean quote = safe.contains(",") || safe.contains("\"") || safe.contains("\n") || safe.contains("\r");
        return quote ? "\"" + safe.replace("\"", "\"\"") + "\"" : safe;
    }

    private static Instant instant(ResultSet row, String column) throws SQLException {
        Timestamp value = row.getTimestamp(column);
        return value == null ? null : value.toInstant();
    }

    private static String text(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
