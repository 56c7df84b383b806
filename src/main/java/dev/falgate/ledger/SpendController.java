package dev.falgate.ledger;

import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.access.Caller;
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;
import dev.falgate.web.ApiException;
import dev.falgate.web.Usd;
import dev.falgate.web.FieldProblem;
import dev.falgate.web.StorableInstant;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

@RestController
@Tag(name = "Spend", description = "Scope ops:read. Exact totals over the jobs that ended in [from, to).")
class SpendController {

    private static final List<String> PARAMETERS = List.of("from", "to", "client", "group_by", "sandbox");

    private final SpendReports reports;
    private final Clock clock;

    SpendController(SpendReports reports, Clock clock) {
        this.reports = reports;
        this.clock = clock;
    }

    record GroupView(@Schema(description = "The day (YYYY-MM-DD) or the client", example = "2026-11-23") String key,
            @Schema(type = "string", pattern = Usd.PATTERN, example = "1.20") String totalUsd, long jobs) {
    }

    record SpendView(Instant from, Instant to, @Schema(example = "USD") String currency,
            @Schema(type = "string", pattern = Usd.PATTERN, example = "12.36") String totalUsd, long jobs,
            @ArraySchema(arraySchema = @Schema(description = "Empty without group_by")) List<GroupView> groups) {

        static SpendView of(SpendReports.Report report) {
            return new SpendView(report.from(), report.to(), "USD", Usd.format(report.totalUsd()), report.jobs(),
                    report.groups().stream().map(g -> new GroupView(g.key(), Usd.format(g.totalUsd()), g.jobs())).toList());
        }
    }

    /** The parameters arrive as one map so that an unknown one is named in a 400, not silently ignored. */
    @Operation(operationId = "getSpend", summary = "Spend over [from, to) of completed_at, optionally per day or client", description = """
            The exact sum of cost_usd over the same jobs that GET /v1/jobs lists. Bad parameters: 400 naming each.""")
    @Parameter(name = "from", in = ParameterIn.QUERY, description = "RFC 3339 or YYYY-MM-DD, inclusive; default the "
            + "first of this month (UTC)", schema = @Schema(type = "string", example = "2026-11-01"))
    @Parameter(name = "to", in = ParameterIn.QUERY, description = "RFC 3339 or YYYY-MM-DD, exclusive; default the "
            + "first of next month (UTC)", schema = @Schema(type = "string", example = "2026-12-01"))
    @Parameter(name = "client", in = ParameterIn.QUERY, description = "Only this client's jobs",
            schema = @Schema(type = "string"))
    @Parameter(name = "group_by", in = ParameterIn.QUERY, schema = @Schema(type = "string", allowableValues = {"day", "client"}))
    @Parameter(name = "sandbox", in = ParameterIn.QUERY, description = "true: sandbox keys' jobs alone (all 0.00); "
            + "they are never in the default report", schema = @Schema(type = "boolean"))
    @ApiResponse(responseCode = "200", description = "The totals")
    @RequiresScope(Scope.OPS_READ)
    @GetMapping(path = "/v1/spend", produces = MediaType.APPLICATION_JSON_VALUE)
    SpendView spend(Caller caller, @Parameter(hidden = true) @RequestParam Map<String, String> query) {
        List<FieldProblem> errors = new ArrayList<>();
        query.keySet().stream().filter(name -> !PARAMETERS.contains(name)).forEach(name -> errors.add(
                new FieldProblem(name, "is not a known parameter; use " + String.join(", ", PARAMETERS))));
        YearMonth month = YearMonth.from(clock.instant().atZone(ZoneOffset.UTC));
        Instant from = instant(query, "from", errors, month.atDay(1));
        Instant to = instant(query, "to", errors, month.plusMonths(1).atDay(1));
        SpendReports.GroupBy groupBy = null;
        String group = query.get("group_by");
        if (group != null) {
            if (group.equals("day") || group.equals("client")) {
                groupBy = SpendReports.GroupBy.valueOf(group.toUpperCase());
            } else {
                errors.add(new FieldProblem("group_by", "must be day or client"));
            }
        }
        boolean sandbox = false;
        String sandboxParameter = query.get("sandbox");
        if (sandboxParameter != null) {
            if (sandboxParameter.equals("true") || sandboxParameter.equals("false")) {
                sandbox = Boolean.parseBoolean(sandboxParameter);
            } else {
                errors.add(new FieldProblem("sandbox", "must be true or false"));
            }
        }
        if (from != null && to != null && !from.isBefore(to)) {
            errors.add(new FieldProblem("to", "must be after from"));
        }
        if (!errors.isEmpty()) {
            throw ApiException.validationFailed(errors);
        }
        return SpendView.of(reports.report(from, to, query.get("client"), groupBy, sandbox));
    }

    private static Instant instant(Map<String, String> query, String name, List<FieldProblem> errors, LocalDate otherwise) {
        String text = query.get(name);
        if (text == null) {
            return otherwise.atStartOfDay().toInstant(ZoneOffset.UTC);
        }
        try {
            Instant instant = text.length() == 10 ? LocalDate.parse(text).atStartOfDay().toInstant(ZoneOffset.UTC)
                    : OffsetDateTime.parse(text).toInstant();
            if (StorableInstant.holds(instant)) {
                return instant;
            }
            errors.add(new FieldProblem(name, StorableInstant.RANGE));
        } catch (DateTimeParseException e) {
            errors.add(new FieldProblem(name, "must be an RFC 3339 timestamp or a date such as 2026-11-23"));
        }
        return null;
    }
}
