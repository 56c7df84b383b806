package dev.falgate.callback;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.access.Caller;
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;
import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;

@RestController
@Tag(name = "Admin: callback secrets", description = "Scope admin. The secret each client's callbacks are signed with.")
class CallbackSecretController {

    private static final Logger log = LoggerFactory.getLogger(CallbackSecretController.class);
    private static final Pattern CLIENT = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    private final CallbackSecrets secrets;
    private final Clock clock;

    CallbackSecretController(CallbackSecrets secrets, Clock clock) {
        this.secrets = secrets;
        this.clock = clock;
    }

    @Schema(name = "CallbackSecret")
    record SecretShown(String client,
            @Schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", description = "Shown once, here; Standard "
                    + "Webhooks libraries take it as it is") String secret,
            @Schema(nullable = true, description = "Until when the secret this one replaced also signs (null when "
                    + "there was none)") Instant previousSecretValidUntil,
            Instant createdAt) {
    }

    @Operation(operationId = "rotateCallbackSecret", summary = "Create or rotate a client's callback signing secret; "
            + "after a rotation both secrets sign for 24 hours")
    @ApiResponse(responseCode = "201", description = "The new secret, shown once")
    @RequiresScope(Scope.ADMIN)
    @PostMapping(path = "/v1/clients/{client}/callback-secret", produces = MediaType.APPLICATION_JSON_VALUE)
    @ResponseStatus(HttpStatus.CREATED)
    SecretShown rotate(Caller caller, @PathVariable String client) {
        if (!CLIENT.matcher(client).matches()) {
            throw ApiException.validationFailed(List.of(new FieldProblem("client",
                    "must be 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")));
        }
        CallbackSecrets.Rotation rotation = secrets.rotate(client, clock.instant());
        log.info("Callback secret of client {} {} by client {}", client,
                rotation.previousValidUntil() == null ? "created" : "rotated", caller.client());
        return new SecretShown(client, CallbackSignature.shown(rotation.secret()), rotation.previousValidUntil(),
                rotation.rotatedAt());
    }
}
