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
import io.swagger.v3.oas.annotations.tags.Tag;

@RestController
@Tag(name = "Spend", description = "Scope ops:read. Exact totals over the jobs that ended in [from, to).")
class SpendController {

    private static final List<String> PARAMETERS = List.of("from", "to", "client", "group_by");

    private final SpendReports reports;
    private final Clock clock;

    SpendController(SpendReports reports, Clock clock) {
        this.reports = reports;
        this.clock = clock;
    }

    record GroupView(String key, String totalUsd, long jobs) {
    }

    record SpendView(Instant from, Instant to, String currency, String totalUsd, long jobs, List<GroupView> groups) {

        static SpendView of(SpendReports.Report report) {
            return new SpendView(report.from(), report.to(), "USD", Usd.format(report.totalUsd()), report.jobs(),
                    report.groups().stream().map(g -> new GroupView(g.key(), Usd.format(g.totalUsd()), g.jobs())).toList());
        }
    }

    @Operation(summary = "Spend over [from, to) (RFC 3339 or YYYY-MM-DD; default: this month, UTC), optionally per day or client")
    @RequiresScope(Scope.OPS_READ)
    @GetMapping(path = "/v1/spend", produces = MediaType.APPLICATION_JSON_VALUE)
    SpendView spend(Caller caller, @RequestParam Map<String, String> query) {
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
        if (from != null && to != null && !from.isBefore(to)) {
            errors.add(new FieldProblem("to", "must be after from"));
        }
        if (!errors.isEmpty()) {
            throw ApiException.validationFailed(errors);
        }
        return SpendView.of(reports.report(from, to, query.get("client"), groupBy));
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
