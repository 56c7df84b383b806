package dev.falgate.ledger;

import java.util.List;
import java.util.Map;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.access.Caller;
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;
import dev.falgate.web.ApiException;
import dev.falgate.web.Usd;
import dev.falgate.web.FieldProblem;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;

@RestController
@RequestMapping("/v1/clients/{client}/budget")
@Tag(name = "Admin: budgets", description = "Scope admin. Monthly budgets per client, enforced at submission.")
class BudgetController {

    private final Budgets budgets;

    BudgetController(Budgets budgets) {
        this.budgets = budgets;
    }

    record BudgetView(String client, String monthlyUsd, String spentUsd, String inFlightUsd, String month) {

        static BudgetView of(Budgets.Standing standing) {
            return new BudgetView(standing.client(), Usd.format(standing.monthlyUsd()), Usd.format(standing.spentUsd()),
                    Usd.format(standing.inFlightUsd()), standing.month().toString());
        }
    }

    @Operation(summary = "Set a client's monthly budget, e.g. {\"monthly_usd\": \"100.00\"}")
    @RequiresScope(Scope.ADMIN)
    @PutMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    BudgetView set(Caller caller, @PathVariable String client, @RequestBody Map<String, Object> body) {
        for (String field : body.keySet()) {
            if (!field.equals("monthly_usd")) {
                throw ApiException.validationFailed(List.of(new FieldProblem(field, "is not a known field")));
            }
        }
        return BudgetView.of(budgets.set(client, Budgets.parseAmount(body.get("monthly_usd"))));
    }

    @Operation(summary = "A client's budget: limit, spent this month, reserved by jobs in flight")
    @RequiresScope(Scope.ADMIN)
    @GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    BudgetView get(Caller caller, @PathVariable String client) {
        return BudgetView.of(budgets.get(client));
    }
}
