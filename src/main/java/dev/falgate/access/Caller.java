package dev.falgate.access;

import java.util.Set;
import java.util.UUID;

import org.springframework.http.HttpStatus;

import dev.falgate.web.ApiException;

/**
 * Who is calling: the client an API key belongs to, the scopes it holds, and (for keys made through the
 * admin API) the key's id and rate limit. Never carries the secret.
 */
public record Caller(String client, Set<Scope> scopes, UUID keyId, Integer rateLimitPerMinute) {

    public Caller {
        scopes = Set.copyOf(scopes);
    }

    public boolean has(Scope scope) {
        return scopes.contains(scope) || scopes.contains(Scope.ADMIN);
    }

    /** Refuses with 403 unless the key holds {@code scope}. */
    public void require(Scope scope) {
        if (!has(scope)) {
            throw forbidden("This API key lacks the scope '" + scope.value() + "'.");
        }
    }

    /** Refuses with 403 unless the key holds one of the scopes. */
    public void requireAny(Scope first, Scope second) {
        if (!has(first) && !has(second)) {
            throw forbidden("This API key needs the scope '" + first.value() + "' or '" + second.value() + "'.");
        }
    }

    /** Whether this caller may see jobs of every client, not only its own. */
    public boolean readsEveryClient() {
        return has(Scope.OPS_READ);
    }

    private static ApiException forbidden(String detail) {
        return new ApiException(HttpStatus.FORBIDDEN, "forbidden", detail);
    }
}
