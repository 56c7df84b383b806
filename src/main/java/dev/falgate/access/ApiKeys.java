package dev.falgate.access;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The api_key table. Only hashes of secrets are ever written or compared. */
@Repository
class ApiKeys {

    private final JdbcClient jdbc;

    ApiKeys(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    void insert(ApiKey key, String hash) {
        jdbc.sql("""
                insert into api_key (id, client, name, scopes, key_hash, key_prefix, rate_limit_per_minute, sandbox,
                                     created_at)
                values (:id, :client, :name, :scopes::text[], :hash, :prefix, :limit, :sandbox, :created)
                """)
                .param("id", key.id()).param("client", key.client()).param("name", key.name())
                .param("scopes", "{" + String.join(",", key.scopes().stream().map(Scope::value).sorted().toList()) + "}")
                .param("hash", hash).param("prefix", key.prefix()).param("limit", key.rateLimitPerMinute())
                .param("sandbox", key.sandbox()).param("created", Timestamp.from(key.createdAt()))
                .update();
    }

    Optional<ApiKey> findActiveByHash(String hash) {
        return jdbc.sql("select * from api_key where key_hash = ? and revoked_at is null").param(hash)
                .query(ApiKeys::map).optional();
    }

    List<ApiKey> findAll() {
        return jdbc.sql("select * from api_key order by created_at desc, id").query(ApiKeys::map).list();
    }

    /** Revokes the key; false when there is no such active key. */
    boolean revoke(UUID id, Instant now) {
        return jdbc.sql("update api_key set revoked_at = ? where id = ? and revoked_at is null")
                .param(Timestamp.from(now)).param(id).update() == 1;
    }

    /** Notes the key's use, at most once a minute, so authenticating stays a read in the common case. */
    void touch(UUID id, Instant now) {
        jdbc.sql("update api_key set last_used_at = :now where id = :id "
                        + "and (last_used_at is null or last_used_at < cast(:now as timestamptz) - interval '1 minute')")
                .param("now", Timestamp.from(now)).param("id", id).update();
    }

    private static ApiKey map(ResultSet row, int number) throws SQLException {
        Array array = row.getArray("scopes");
        Set<Scope> scopes = EnumSet.noneOf(Scope.class);
        Arrays.stream((String[]) array.getArray()).map(Scope::of).flatMap(Optional::stream).forEach(scopes::add);
        Timestamp lastUsed = row.getTimestamp("last_used_at");
        Timestamp revoked = row.getTimestamp("revoked_at");
        return new ApiKey(row.getObject("id", UUID.class), row.getString("client"), row.getString("name"), scopes,
                row.getString("key_prefix"), (Integer) row.getObject("rate_limit_per_minute"), row.getBoolean("sandbox"),
                row.getTimestamp("created_at").toInstant(), lastUsed == null ? null : lastUsed.toInstant(),
                revoked == null ? null : revoked.toInstant());
    }
}
