package dev.falgate.access;

import java.util.List;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** Who the presented key is: what the console (or any client) may show and do with it. */
@RestController
@Tag(name = "Keys")
class CallerController {

    @Schema(name = "Caller")
    record CallerView(String client, List<String> scopes, boolean sandbox) {
    }

    @Operation(operationId = "me", summary = "The presented key's client, scopes and sandbox flag (never its secret)")
    @ApiResponse(responseCode = "200", description = "The key's identity")
    @RequiresScope({Scope.JOBS_CREATE, Scope.JOBS_READ, Scope.OPS_READ, Scope.ADMIN})
    @GetMapping(path = "/v1/me", produces = MediaType.APPLICATION_JSON_VALUE)
    CallerView me(Caller caller) {
        return new CallerView(caller.client(), caller.scopes().stream().map(Scope::value).sorted().toList(),
                caller.sandbox());
    }
}
