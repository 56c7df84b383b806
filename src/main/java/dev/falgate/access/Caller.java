package dev.falgate.access;

import java.util.Set;

import org.springframework.http.HttpStatus;

import dev.falgate.web.ApiException;

/** Who is calling: the client an API key belongs to and the scopes it holds. Never carries the secret. */
public record Caller(String client, Set<Scope> scopes) {

    public Caller {
        scopes = Set.copyOf(scopes);
    }

    public boolean has(Scope scope) {
        return scopes.contains(scope) || scopes.contains(Scope.ADMIN);
    }

    /** Refuses with 403 unless the key holds {@code scope}. */
    public void require(Scope scope) {
        if (!has(scope)) {
            throw new ApiException(HttpStatus.FORBIDDEN, "forbidden",
                    "This API key lacks the scope '" + scope.value() + "'.");
        }
    }

    /** Whether this caller may see jobs of every client, not only its own. */
    public boolean readsEveryClient() {
        return has(Scope.OPS_READ);
    }
}
