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
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

@RestController
@RequestMapping("/v1/clients/{client}/budget")
@Tag(name = "Admin: budgets", description = "Scope admin. Monthly budgets per client, enforced at submission.")
class BudgetController {

    private final Budgets budgets;

    BudgetController(Budgets budgets) {
        this.budgets = budgets;
    }

    record BudgetView(String client,
            @Schema(type = "string", pattern = Usd.PATTERN, example = "100.00") String monthlyUsd,
            @Schema(type = "string", pattern = Usd.PATTERN, example = "12.36", description = "Booked this month") String spentUsd,
            @Schema(type = "string", pattern = Usd.PATTERN, example = "0.48", description = "Reserved by the client's jobs in flight")
            String inFlightUsd,
            @Schema(example = "2026-11", description = "The month (UTC) the figures are for") String month) {

        static BudgetView of(Budgets.Standing standing) {
            return new BudgetView(standing.client(), Usd.format(standing.monthlyUsd()), Usd.format(standing.spentUsd()),
                    Usd.format(standing.inFlightUsd()), standing.month().toString());
        }
    }

    /**
     * The body as documented; it is read as a map so that a number, or an unknown field, is named in a 400 by
     * {@link #set} itself.
     */
    @Schema(additionalProperties = Schema.AdditionalPropertiesValue.FALSE)
    record BudgetRequest(@Schema(type = "string", requiredMode = Schema.RequiredMode.REQUIRED, example = "100.00",
            description = "US dollars as a decimal string, not negative, at most 6 decimals") String monthlyUsd) {
    }

    @Operation(operationId = "setBudget", summary = "Set a client's monthly budget", requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
            required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = BudgetRequest.class))))
    @ApiResponse(responseCode = "200", description = "The budget and where the client stands this month")
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

    @Operation(operationId = "getBudget", summary = "A client's budget: limit, spent this month, reserved by jobs in flight")
    @ApiResponse(responseCode = "200", description = "The budget and where the client stands this month")
    @ApiResponse(responseCode = "404", description = "The client has no budget (not_found)")
    @RequiresScope(Scope.ADMIN)
    @GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    BudgetView get(Caller caller, @PathVariable String client) {
        return BudgetView.of(budgets.get(client));
    }
}
