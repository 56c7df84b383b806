package dev.falgate.access;

import java.util.Set;
import java.util.UUID;


/**
 * Who is calling: the client an API key belongs to, the scopes it holds, and (for keys made through the
 * admin API) the key's id, rate limit and whether it is a sandbox key (its jobs never reach fal). Never carries the
 * secret.
 */
public record Caller(String client, Set<Scope> scopes, UUID keyId, Integer rateLimitPerMinute, boolean sandbox) {

    public Caller {
        scopes = Set.copyOf(scopes);
    }

    public boolean has(Scope scope) {
        return scopes.contains(scope) || scopes.contains(Scope.ADMIN);
    }

    /** Whether this caller may see jobs of every client, not only its own. */
    public boolean readsEveryClient() {
        return has(Scope.OPS_READ);
    }
}
