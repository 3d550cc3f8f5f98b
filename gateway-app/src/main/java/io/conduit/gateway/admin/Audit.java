package io.conduit.gateway.admin;

import io.conduit.gateway.auth.Caller;
import org.springframework.jdbc.core.JdbcTemplate;

import java.util.Map;

/** Writes an audit row inside the admin action's own transaction: no action without its audit entry. */
final class Audit {
    private Audit() {
    }

    static void log(JdbcTemplate jdbc, Caller actor, String requestId, String action, String target,
                    Map<String, ?> details) {
        jdbc.update("""
                INSERT INTO audit_log (actor_key_id, actor_team, actor_role, action, target, details, request_id)
                VALUES (?, ?, ?, ?, ?, ?::jsonb, ?)""", actor.keyId(), actor.teamId(), actor.role().name(), action,
                target, Json.write(details), requestId);
    }
}
