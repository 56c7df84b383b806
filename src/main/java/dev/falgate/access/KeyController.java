package dev.falgate.access;

import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

@RestController
@RequestMapping("/v1/keys")
@Tag(name = "Admin: API keys", description = "Scope admin. Secrets are shown once, at creation, and stored only as hashes.")
class KeyController {

    private final KeyService keys;

    KeyController(KeyService keys) {
        this.keys = keys;
    }

    record CreateKeyRequest(
            @NotBlank @Pattern(regexp = "[a-z0-9][a-z0-9._-]{0,63}", message = "must be 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit") String client,
            @NotNull @NotEmpty List<@NotBlank String> scopes,
            @NotBlank @Size(max = 100)
            @Pattern(regexp = "[^\\p{Cntrl}\\p{Cs}]*", message = "must not contain control characters (CR, LF, NUL, ...)")
            String name,
            @Schema(description = "Requests a minute; without it the key has no rate limit")
            @Min(1) @Max(1_000_000) Integer rateLimitPerMinute,
            @Schema(description = "A sandbox key: its jobs run on falgate's built-in fal simulator, never on fal, and "
                    + "cost 0.00") Boolean sandbox) {
    }

    record CreatedKey(UUID id, String client, List<String> scopes, String name,
            @Schema(description = "The secret: shown here once, stored only as a hash") String key,
            @Schema(nullable = true) Integer rateLimitPerMinute, boolean sandbox, Instant createdAt) {

        static CreatedKey of(KeyService.NewKey created) {
            ApiKey key = created.key();
            return new CreatedKey(key.id(), key.client(), scopeNames(key), key.name(), created.secret(),
                    key.rateLimitPerMinute(), key.sandbox(), key.createdAt());
        }
    }

    record KeyView(UUID id, String client, List<String> scopes, String name,
            @Schema(description = "The secret's first characters, to tell keys apart") String keyPrefix,
            @Schema(nullable = true) Integer rateLimitPerMinute, boolean sandbox, Instant createdAt,
            @Schema(nullable = true) Instant lastUsedAt, @Schema(nullable = true) Instant revokedAt) {

        static KeyView of(ApiKey key) {
            return new KeyView(key.id(), key.client(), scopeNames(key), key.name(), key.prefix(), key.rateLimitPerMinute(),
                    key.sandbox(), key.createdAt(), key.lastUsedAt(), key.revokedAt());
        }
    }

    record KeyList(List<KeyView> data) {
    }

    @Operation(operationId = "createKey", summary = "Create an API key for a client; the secret is in the answer and nowhere else")
    @ApiResponse(responseCode = "201", description = "The key, with its secret",
            headers = @Header(name = "Location", description = "/v1/keys/{id}", schema = @Schema(type = "string")))
    @RequiresScope(Scope.ADMIN)
    @PostMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<CreatedKey> create(Caller caller, @Valid @RequestBody CreateKeyRequest request) {
        KeyService.NewKey created = keys.create(caller, request);
        return ResponseEntity.created(URI.create("/v1/keys/" + created.key().id())).body(CreatedKey.of(created));
    }

    @Operation(operationId = "listKeys", summary = "List every API key, without secrets")
    @ApiResponse(responseCode = "200", description = "Every key, revoked ones included")
    @RequiresScope(Scope.ADMIN)
    @GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    KeyList list(Caller caller) {
        return new KeyList(keys.list(caller).stream().map(KeyView::of).toList());
    }

    @Operation(operationId = "revokeKey", summary = "Revoke a key; it stops working at the next request")
    @ApiResponse(responseCode = "204", description = "Revoked")
    @ApiResponse(responseCode = "404", description = "No such key (not_found)")
    @RequiresScope(Scope.ADMIN)
    @DeleteMapping("/{id}")
    ResponseEntity<Void> revoke(Caller caller, @PathVariable String id) {
        keys.revoke(caller, id);
        return ResponseEntity.noContent().build();
    }

    private static List<String> scopeNames(ApiKey key) {
        return key.scopes().stream().map(Scope::value).sorted().toList();
    }
}
