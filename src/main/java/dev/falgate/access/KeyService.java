package dev.falgate.access;

import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

import dev.falgate.DatabaseNotifications;
import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;

/** The admin API's keys: made with a secret shown once, listed without it, revoked at once. */
@Service
class KeyService {

    private static final Logger log = LoggerFactory.getLogger(KeyService.class);

    private final ApiKeys keys;
    private final Clock clock;
    private final DatabaseNotifications notifications;

    KeyService(ApiKeys keys, Clock clock, DatabaseNotifications notifications) {
        this.keys = keys;
        this.clock = clock;
        this.notifications = notifications;
    }

    /** A new key and its secret; the secret is not kept and cannot be shown again. */
    record NewKey(ApiKey key, String secret) {
    }

    NewKey create(Caller caller, KeyController.CreateKeyRequest request) {
        Set<Scope> scopes = EnumSet.noneOf(Scope.class);
        List<FieldProblem> errors = new ArrayList<>();
        if (request.client().equals(AccessSettings.ADMIN_CLIENT)) {
            // the bootstrap key's client: another key named so would read the bootstrap key's jobs as its own
            errors.add(new FieldProblem("client", "'" + AccessSettings.ADMIN_CLIENT
                    + "' is reserved for the bootstrap admin key"));
        }
        for (int i = 0; i < request.scopes().size(); i++) {
            String value = request.scopes().get(i);
            Optional<Scope> scope = Scope.of(value);
            scope.ifPresentOrElse(scopes::add, () -> errors.add(new FieldProblem("scopes", "'" + value
                    + "' is not a scope; use jobs:create, jobs:read, ops:read or admin")));
        }
        if (!errors.isEmpty()) {
            throw ApiException.validationFailed(errors);
        }
        String secret = ApiKeyAuthenticator.newSecret();
        ApiKey key = new ApiKey(UUID.randomUUID(), request.client(), request.name(), scopes,
                secret.substring(0, ApiKeyAuthenticator.SECRET_PREFIX.length() + 6), request.rateLimitPerMinute(),
                Boolean.TRUE.equals(request.sandbox()), clock.instant().truncatedTo(ChronoUnit.MICROS), null, null);
        keys.insert(key, ApiKeyAuthenticator.hashOf(secret));
        log.info("API key {} ({}) created for client {} with scopes {}{}", key.id(), key.name(), key.client(),
                scopes.stream().map(Scope::value).sorted().toList(), key.sandbox() ? " (sandbox)" : "");
        return new NewKey(key, secret);
    }

    List<ApiKey> list(Caller caller) {
        return keys.findAll();
    }

    void revoke(Caller caller, String id) {
        UUID keyId;
        try {
            keyId = UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw ApiException.notFound("No active API key " + id + ".");
        }
        if (!keys.revoke(keyId, clock.instant())) {
            throw ApiException.notFound("No active API key " + id + ".");
        }
        notifications.publish(StreamSlots.KEY_REVOKED, keyId.toString()); // its open streams end, on every instance
        log.info("API key {} revoked", keyId);
    }
}
