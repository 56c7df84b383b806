package dev.falgate.job;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
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

import org.springframework.jdbc.core.namedparam.MapSqlParameterSource;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;
import org.springframework.stereotype.Component;

import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;
import dev.falgate.web.StorableInstant;
import dev.falgate.web.Usd;
import io.swagger.v3.oas.annotations.media.Schema;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Job history, newest first, paged with a keyset cursor over ({@code created_at}, {@code id}): a page is
 * "everything older than the last job you saw", so jobs arriving meanwhile are neither skipped nor
 * repeated. CSV exports walk the same keyset a page at a time, never holding a transaction or the rows.
 */
@Component
class JobHistory {

    static final String CSV_COLUMNS = "id,client,status,created_at,submitted_at,started_at,completed_at,"
            + "fal_request_id,attempts,cost_usd,seed,video_url,error_code";
    static final String CSV_HEADER = CSV_COLUMNS + "\r\n";

    private static final int CSV_PAGE = 500;

    private final NamedParameterJdbcTemplate jdbc;
    private final JsonMapper json;

    JobHistory(NamedParameterJdbcTemplate jdbc, JsonMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    /**
     * What to list: every filter is optional; {@code client} is already narrowed to what the caller may see;
     * {@code limit} is null when the caller named none.
     */
    record Filter(JobStatus status, String client, Instant createdFrom, Instant createdTo, Cursor after, Integer limit,
            boolean sandbox) {
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

    /**
     * Writes every matching job (or {@code limit} of them) as CSV, a keyset page of {@value #CSV_PAGE} rows per
     * query: no transaction or cursor stays open while a slow client downloads, and each page is flushed to it
     * before the next is read.
     */
    void writeCsv(Filter filter, OutputStream out) throws IOException {
        Writer writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
        writer.write(CSV_HEADER);
        Cursor after = filter.after();
        long left = filter.limit() == null ? Long.MAX_VALUE : filter.limit();
        while (left > 0) {
            MapSqlParameterSource params = new MapSqlParameterSource();
            int pageSize = (int) Math.min(CSV_PAGE, left);
            Filter page = new Filter(filter.status(), filter.client(), filter.createdFrom(), filter.createdTo(), after,
                    null, filter.sandbox());
            String sql = "select id, client, status, created_at, submitted_at, started_at, completed_at, fal_request_id, "
                    + "attempts, cost_usd, seed, video_url, error from job" + where(page, params)
                    + " order by created_at desc, id desc limit :limit";
            params.addValue("limit", pageSize);
            List<CsvRow> rows = jdbc.query(sql, params, (row, n) -> new CsvRow(row.getObject("id", UUID.class),
                    instant(row, "created_at"), csvRow(row)));
            for (CsvRow row : rows) {
                writer.write(row.line());
            }
            writer.flush();
            if (rows.size() < pageSize) {
                return;
            }
            CsvRow last = rows.get(rows.size() - 1);
            after = new Cursor(last.createdAt(), last.id());
            left -= rows.size();
        }
    }

    private record CsvRow(UUID id, Instant createdAt, String line) {
    }

    private static String where(Filter filter, MapSqlParameterSource params) {
        StringBuilder where = new StringBuilder(filter.sandbox() ? " where sandbox" : " where not sandbox");
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
                instant(row, "started_at"), instant(row, "completed_at"), instant(row, "deadline_at"),
                row.getString("callback_url"), row.getBoolean("sandbox"));
    }

    private String csvRow(ResultSet row) throws SQLException {
        return String.join(",", List.of(
                csv(row.getString("id")), csv(row.getString("client")), csv(row.getString("status")),
                csv(text(instant(row, "created_at"))), csv(text(instant(row, "submitted_at"))),
                csv(text(instant(row, "started_at"))), csv(text(instant(row, "completed_at"))),
                csv(row.getString("fal_request_id")), csv(row.getString("attempts")),
                csv(Usd.format(row.getBigDecimal("cost_usd"))), csv(row.getString("seed")),
                csv(row.getString("video_url")), csv(errorCode(row.getString("error"))))) + "\r\n";
    }

    /**
     * The error's code, read here rather than with PostgreSQL's {@code ->>}: stored JSON may hold a {@code \\u0000}
     * escape (fal's detail, kept as fal sent it), which {@code ->>} refuses to turn into text.
     */
    private String errorCode(String error) {
        if (error == null) {
            return null;
        }
        try {
            JsonNode code = json.readTree(error).path("code");
            return code.isString() ? code.asString() : null;
        } catch (JacksonException e) {
            return null;
        }
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
