package dev.falgate.access;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import dev.falgate.DatabaseNotifications;
import dev.falgate.web.ApiException;

/**
 * The long responses an API key holds open at once (SSE streams, CSV exports): at most
 * {@code FALGATE_MAX_STREAMS_PER_KEY} per key on this instance, 429 beyond. A stream's slot ends it when its key
 * is revoked, on whichever instance the revocation happened ({@link KeyService} announces it).
 */
@Component
public class StreamSlots {

    static final String KEY_REVOKED = "falgate_key_revoked";

    private static final Logger log = LoggerFactory.getLogger(StreamSlots.class);

    private final int maxPerKey;
    private final JdbcClient jdbc;
    private final Map<String, Set<Slot>> open = new ConcurrentHashMap<>();

    StreamSlots(AccessSettings settings, JdbcClient jdbc, DatabaseNotifications notifications) {
        this.maxPerKey = settings.maxStreamsPerKey();
        this.jdbc = jdbc;
        notifications.listen(KEY_REVOKED, this::revoked);
        notifications.onReconnect(this::recheckRevocations);
    }

    /** One open stream of a key. Closing it (idempotent) frees the slot. */
    public final class Slot implements AutoCloseable {

        private final String holder;
        private final Runnable onRevoked;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Slot(String holder, Runnable onRevoked) {
            this.holder = holder;
            this.onRevoked = onRevoked;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                open.computeIfPresent(holder, (key, slots) -> {
                    slots.remove(this);
                    return slots.isEmpty() ? null : slots;
                });
            }
        }
    }

    /**
     * A slot for one more stream of the caller's key, or 429 when the key holds its maximum already. {@code onRevoked}
     * ends the stream when the key is revoked; a key revoked since it was checked is refused (401) here, so no
     * revocation falls between the key check and the slot.
     */
    public Slot open(Caller caller, Runnable onRevoked) {
        String holder = holderOf(caller);
        Slot slot = new Slot(holder, onRevoked);
        boolean[] refused = {false};
        open.compute(holder, (key, slots) -> {
            Set<Slot> held = slots == null ? ConcurrentHashMap.newKeySet() : slots;
            if (held.size() >= maxPerKey) {
                refused[0] = true;
            } else {
                held.add(slot);
            }
            return held;
        });
        if (refused[0]) {
            throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limited", "This API key already holds "
                    + maxPerKey + " open streams (SSE or CSV), the most FALGATE_MAX_STREAMS_PER_KEY allows; close one first.");
        }
        if (caller.keyId() != null && jdbc.sql("select revoked_at is not null from api_key where id = ?")
                .param(caller.keyId()).query(Boolean.class).optional().orElse(true)) {
            slot.close();
            throw new ApiException(HttpStatus.UNAUTHORIZED, "unauthorized", "This API key has been revoked.");
        }
        return slot;
    }

    /** Keys made through the admin API by id; the bootstrap key, which has none, by its client. */
    private static String holderOf(Caller caller) {
        return caller.keyId() != null ? caller.keyId().toString() : "client:" + caller.client();
    }

    private void revoked(String keyId) {
        Set<Slot> slots = open.get(keyId);
        if (slots != null && !slots.isEmpty()) {
            log.info("API key {} revoked: ending its {} open stream(s)", keyId, slots.size());
            List.copyOf(slots).forEach(slot -> slot.onRevoked.run());
        }
    }

    /** Revocations announced while this instance was not listening are found in the table. */
    private void recheckRevocations() {
        List<UUID> held = open.keySet().stream().filter(holder -> !holder.startsWith("client:")).map(UUID::fromString)
                .toList();
        if (held.isEmpty()) {
            return;
        }
        jdbc.sql("select id from api_key where id = any(?) and revoked_at is not null")
                .param(held.toArray(UUID[]::new)).query(UUID.class).list()
                .forEach(id -> revoked(id.toString()));
    }
}
