package io.conduit.gateway.auth;

import io.conduit.gateway.GatewayProperties;
import io.conduit.gateway.db.Db;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationStartedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/** API key lookup and creation. Keys are looked up by the SHA-256 of the presented key. */
@Component
public class KeyStore {
    private static final Logger log = LoggerFactory.getLogger(KeyStore.class);
    private final Db db;
    private final GatewayProperties props;

    public KeyStore(Db db, GatewayProperties props) {
        this.db = db;
        this.props = props;
    }

    /** Resolves a presented key, or fails with a BadCredentialsException saying why (unknown, revoked, expired). */
    public Mono<Caller> authenticate(String key) {
        if (!ApiKeys.looksLikeKey(key)) {
            return Mono.error(new BadCredentialsException("Incorrect API key provided."));
        }
        byte[] hash = ApiKeys.hash(key);
        return db.call(() -> db.jdbc().query("""
                SELECT k.id, k.key_prefix, k.team_id, k.role, k.allowed_models AS key_models, k.rpm_limit AS key_rpm,
                       k.tpm_limit AS key_tpm, k.expires_at, k.revoked_at, t.allowed_models AS team_models,
                       t.rpm_limit AS team_rpm, t.tpm_limit AS team_tpm, t.weight
                FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = ?""", rs -> {
            if (!rs.next()) return null;
            Instant now = Instant.now();
            Timestamp revoked = rs.getTimestamp("revoked_at");
            if (revoked != null && !revoked.toInstant().isAfter(now)) {
                throw new BadCredentialsException("This API key has been revoked.");
            }
            Timestamp expires = rs.getTimestamp("expires_at");
            if (expires != null && !expires.toInstant().isAfter(now)) {
                throw new BadCredentialsException("This API key has expired.");
            }
            return new Caller(rs.getLong("id"), rs.getString("key_prefix"), rs.getString("team_id"),
                    Role.valueOf(rs.getString("role")), strings(rs, "key_models"), strings(rs, "team_models"),
                    intOrNull(rs, "key_rpm"), intOrNull(rs, "key_tpm"), intOrNull(rs, "team_rpm"),
                    intOrNull(rs, "team_tpm"), rs.getDouble("weight"));
        }, (Object) hash)).switchIfEmpty(Mono.error(new BadCredentialsException("Incorrect API key provided.")));
    }

    static List<String> strings(ResultSet rs, String col) throws SQLException {
        Array a = rs.getArray(col);
        return a == null ? null : Arrays.asList((String[]) a.getArray());
    }

    static Integer intOrNull(ResultSet rs, String col) throws SQLException {
        int v = rs.getInt(col);
        return rs.wasNull() ? null : v;
    }

    /** Inserts a key row for {@code key}; returns its id. */
    public static long insertKey(JdbcTemplate jdbc, String key, String teamId, String name, Role role,
                                 List<String> allowedModels, Integer rpm, Integer tpm, Instant expiresAt) {
        return jdbc.queryForObject("""
                INSERT INTO api_keys (team_id, name, key_prefix, key_hash, role, allowed_models, rpm_limit, tpm_limit,
                                      expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""", Long.class, teamId, name,
                ApiKeys.visiblePrefix(key), ApiKeys.hash(key), role.name(),
                allowedModels == null ? null : allowedModels.toArray(String[]::new), rpm, tpm,
                expiresAt == null ? null : Timestamp.from(expiresAt));
    }

    /** CONDUIT_BOOTSTRAP_ADMIN_KEY: creates (once) a platform-team ADMIN key with exactly that value. */
    @EventListener(ApplicationStartedEvent.class)
    public void bootstrapAdmin() {
        String key = props.bootstrapAdminKey();
        if (key == null || key.isBlank()) return;
        if (!ApiKeys.looksLikeKey(key)) {
            throw new IllegalStateException("CONDUIT_BOOTSTRAP_ADMIN_KEY must start with 'ck-' and have at least 12 characters");
        }
        Integer existing = db.jdbc().queryForObject("SELECT count(*) FROM api_keys WHERE key_hash = ?", Integer.class,
                (Object) ApiKeys.hash(key));
        if (existing != null && existing == 0) {
            db.inTxBlocking(jdbc -> {
                long id = insertKey(jdbc, key, "platform", "bootstrap-admin", Role.ADMIN, null, null, null, null);
                jdbc.update("INSERT INTO audit_log (action, target, details) VALUES ('bootstrap_admin_key', ?, "
                        + "'{\"source\":\"CONDUIT_BOOTSTRAP_ADMIN_KEY\"}'::jsonb)", "key:" + id);
                return id;
            });
            log.info("created the bootstrap admin key {}", ApiKeys.visiblePrefix(key));
        }
    }
}
