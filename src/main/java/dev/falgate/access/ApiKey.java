package dev.falgate.access;

import java.time.Instant;
import java.util.Set;
import java.util.UUID;

/** An API key as stored: everything but the secret, which exists only in the caller's hands. */
record ApiKey(UUID id, String client, String name, Set<Scope> scopes, String prefix, Integer rateLimitPerMinute,
        boolean sandbox, Instant createdAt, Instant lastUsedAt, Instant revokedAt) {
}
