package io.conduit.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.conduit.gateway.auth.ApiKeys;
import io.conduit.gateway.auth.Caller;
import io.conduit.gateway.auth.KeyStore;
import io.conduit.gateway.auth.Role;
import io.conduit.gateway.db.Db;
import io.conduit.gateway.usage.BudgetService;
import io.conduit.gateway.web.ApiException;
import io.conduit.gateway.web.RequestIdFilter;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Teams, API keys and budgets. ADMIN manages everything; TEAM_ADMIN manages keys and budgets of its own
 * team (and cannot mint ADMIN or FINANCE keys). Every change writes an audit row in the same transaction.
 */
@RestController
@RequestMapping("/admin/api")
@Tag(name = "Admin")
public class AdminController {
    private final Db db;

    public AdminController(Db db) {
        this.db = db;
    }

    private static void requireTeam(Caller caller, String teamId) {
        if (caller.isAdmin()) return;
        if (caller.role() == Role.TEAM_ADMIN && caller.teamId().equals(teamId)) return;
        throw ApiException.forbidden("Your key may only manage its own team.", "permission_denied");
    }

    private static Map<String, Object> teamRow(JdbcTemplate jdbc, String id) {
        List<Map<String, Object>> rows = jdbc.queryForList(
                "SELECT id, name, allowed_models, rpm_limit, tpm_limit, weight, created_at FROM teams WHERE id = ?", id);
        if (rows.isEmpty()) throw ApiException.notFound("No team '" + id + "'.", "team_not_found", null);
        return rows.getFirst();
    }

    private static Map<String, Object> keyRow(JdbcTemplate jdbc, long id) {
        List<Map<String, Object>> rows = jdbc.queryForList("""
                SELECT id, team_id, name, key_prefix, role, allowed_models, rpm_limit, tpm_limit, created_at,
                       expires_at, revoked_at, replaced_by FROM api_keys WHERE id = ?""", id);
        if (rows.isEmpty()) throw ApiException.notFound("No API key " + id + ".", "key_not_found", null);
        return rows.getFirst();
    }

    // ---- teams ------------------------------------------------------------------------------------------

    @PostMapping("/teams")
    @PreAuthorize("hasRole('ADMIN')")
    @Operation(summary = "Create a team (ADMIN)")
    public Mono<ResponseEntity<String>> createTeam(@AuthenticationPrincipal Caller caller,
                                                   @RequestBody(required = false) String body,
                                                   ServerWebExchange exchange) {
        JsonNode n = Json.read(body);
        String id = Json.text(n, "id", true);
        String name = n.has("name") ? Json.text(n, "name", true) : id;
        String[] models = Json.stringArray(n, "allowed_models");
        Long rpm = Json.integer(n, "rpm_limit", false);
        Long tpm = Json.integer(n, "tpm_limit", false);
        if (!id.matches("[a-z0-9][a-z0-9_-]{0,62}")) {
            throw ApiException.invalid("'id' must be lowercase letters, digits, '-' or '_' (at most 63).", "id");
        }
        return db.inTx(jdbc -> {
            try {
                jdbc.update("INSERT INTO teams (id, name, allowed_models, rpm_limit, tpm_limit) VALUES (?, ?, ?, ?, ?)",
                        id, name, models, rpm, tpm);
            } catch (DuplicateKeyException e) {
                throw new ApiException(org.springframework.http.HttpStatus.CONFLICT, "invalid_request_error",
                        "team_exists", "id", "Team '" + id + "' already exists.", 0);
            }
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "team.create", "team:" + id,
                    Map.of("name", name));
            return Json.status(201, teamRow(jdbc, id));
        });
    }

    @GetMapping("/teams")
    @Operation(summary = "List teams (ADMIN: all; TEAM_ADMIN: its own)")
    public Mono<ResponseEntity<String>> teams(@AuthenticationPrincipal Caller caller) {
        return db.call(() -> Json.ok(Map.of("data", caller.isAdmin()
                ? db.jdbc().queryForList("SELECT id, name, allowed_models, rpm_limit, tpm_limit, weight, created_at "
                + "FROM teams ORDER BY id")
                : List.of(teamRow(db.jdbc(), caller.teamId())))));
    }

    @GetMapping("/teams/{team}")
    public Mono<ResponseEntity<String>> team(@AuthenticationPrincipal Caller caller, @PathVariable String team) {
        requireTeam(caller, team);
        return db.call(() -> Json.ok(teamRow(db.jdbc(), team)));
    }

    @PatchMapping("/teams/{team}")
    @PreAuthorize("hasRole('ADMIN')")
    @Operation(summary = "Change a team's name, model allow-list or rate limits (ADMIN)")
    public Mono<ResponseEntity<String>> updateTeam(@AuthenticationPrincipal Caller caller, @PathVariable String team,
                                                   @RequestBody(required = false) String body,
                                                   ServerWebExchange exchange) {
        JsonNode n = Json.read(body);
        return db.inTx(jdbc -> {
            teamRow(jdbc, team);
            if (n.has("name")) jdbc.update("UPDATE teams SET name = ? WHERE id = ?", Json.text(n, "name", true), team);
            if (n.has("allowed_models")) {
                jdbc.update("UPDATE teams SET allowed_models = ? WHERE id = ?", Json.stringArray(n, "allowed_models"), team);
            }
            if (n.has("rpm_limit")) jdbc.update("UPDATE teams SET rpm_limit = ? WHERE id = ?", Json.integer(n, "rpm_limit", false), team);
            if (n.has("tpm_limit")) jdbc.update("UPDATE teams SET tpm_limit = ? WHERE id = ?", Json.integer(n, "tpm_limit", false), team);
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "team.update", "team:" + team,
                    Json.M.convertValue(n, Map.class));
            return Json.ok(teamRow(jdbc, team));
        });
    }

    // ---- keys -------------------------------------------------------------------------------------------

    @PostMapping("/teams/{team}/keys")
    @Operation(summary = "Create an API key; the key is in this response only")
    public Mono<ResponseEntity<String>> createKey(@AuthenticationPrincipal Caller caller, @PathVariable String team,
                                                  @RequestBody(required = false) String body,
                                                  ServerWebExchange exchange) {
        requireTeam(caller, team);
        JsonNode n = Json.read(body);
        String name = n.has("name") ? Json.text(n, "name", true) : "key";
        Role role;
        try {
            role = Role.valueOf(n.has("role") ? Json.text(n, "role", true) : "MEMBER");
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("'role' must be one of ADMIN, FINANCE, TEAM_ADMIN, MEMBER.", "role");
        }
        if (!caller.isAdmin() && (role == Role.ADMIN || role == Role.FINANCE)) {
            throw ApiException.forbidden("Only an ADMIN may create " + role + " keys.", "permission_denied");
        }
        String[] models = Json.stringArray(n, "allowed_models");
        Long rpm = Json.integer(n, "rpm_limit", false);
        Long tpm = Json.integer(n, "tpm_limit", false);
        Instant expires = expiry(n);
        String key = ApiKeys.generate();
        return db.inTx(jdbc -> {
            teamRow(jdbc, team);
            long id = KeyStore.insertKey(jdbc, key, team, name, role, models == null ? null : List.of(models),
                    rpm == null ? null : rpm.intValue(), tpm == null ? null : tpm.intValue(), expires);
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "key.create", "key:" + id,
                    Map.of("team", team, "role", role.name(), "prefix", ApiKeys.visiblePrefix(key)));
            Map<String, Object> out = new LinkedHashMap<>(keyRow(jdbc, id));
            out.put("key", key);
            return Json.status(201, out);
        });
    }

    private static Instant expiry(JsonNode n) {
        String at = Json.text(n, "expires_at", false);
        Long days = Json.integer(n, "expires_in_days", false);
        Long seconds = Json.integer(n, "expires_in_seconds", false);
        try {
            if (at != null) return Instant.parse(at);
        } catch (java.time.format.DateTimeParseException e) {
            throw ApiException.invalid("'expires_at' must be an ISO-8601 instant, e.g. 2030-01-01T00:00:00Z.", "expires_at");
        }
        if (days != null) return Instant.now().plusSeconds(days * 86400);
        if (seconds != null) return Instant.now().plusSeconds(seconds);
        return null;
    }

    @GetMapping("/teams/{team}/keys")
    @Operation(summary = "List a team's keys (prefixes only; keys are never shown again)")
    public Mono<ResponseEntity<String>> keys(@AuthenticationPrincipal Caller caller, @PathVariable String team) {
        requireTeam(caller, team);
        return db.call(() -> Json.ok(Map.of("data", db.jdbc().queryForList("""
                SELECT id, team_id, name, key_prefix, role, allowed_models, rpm_limit, tpm_limit, created_at,
                       expires_at, revoked_at, replaced_by FROM api_keys WHERE team_id = ? ORDER BY id""", team))));
    }

    @PostMapping("/keys/{id}/revoke")
    @Operation(summary = "Revoke a key at once")
    public Mono<ResponseEntity<String>> revoke(@AuthenticationPrincipal Caller caller, @PathVariable long id,
                                               ServerWebExchange exchange) {
        return db.inTx(jdbc -> {
            Map<String, Object> key = keyRow(jdbc, id);
            requireTeam(caller, (String) key.get("team_id"));
            jdbc.update("UPDATE api_keys SET revoked_at = now() WHERE id = ? AND revoked_at IS NULL", id);
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "key.revoke", "key:" + id, Map.of());
            return Json.ok(keyRow(jdbc, id));
        });
    }

    @PatchMapping("/keys/{id}")
    @Operation(summary = "Change a key's model allow-list or rate limits")
    public Mono<ResponseEntity<String>> updateKey(@AuthenticationPrincipal Caller caller, @PathVariable long id,
                                                  @RequestBody(required = false) String body,
                                                  ServerWebExchange exchange) {
        JsonNode n = Json.read(body);
        return db.inTx(jdbc -> {
            Map<String, Object> key = keyRow(jdbc, id);
            requireTeam(caller, (String) key.get("team_id"));
            if (n.has("allowed_models")) {
                jdbc.update("UPDATE api_keys SET allowed_models = ? WHERE id = ?", Json.stringArray(n, "allowed_models"), id);
            }
            if (n.has("rpm_limit")) jdbc.update("UPDATE api_keys SET rpm_limit = ? WHERE id = ?", Json.integer(n, "rpm_limit", false), id);
            if (n.has("tpm_limit")) jdbc.update("UPDATE api_keys SET tpm_limit = ? WHERE id = ?", Json.integer(n, "tpm_limit", false), id);
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "key.update", "key:" + id,
                    Json.M.convertValue(n, Map.class));
            return Json.ok(keyRow(jdbc, id));
        });
    }

    @PostMapping("/keys/{id}/rotate")
    @Operation(summary = "Issue a replacement key; the old one keeps working for grace_seconds (default 86400)")
    public Mono<ResponseEntity<String>> rotate(@AuthenticationPrincipal Caller caller, @PathVariable long id,
                                               @RequestBody(required = false) String body,
                                               ServerWebExchange exchange) {
        JsonNode n = Json.read(body);
        Long grace = Json.integer(n, "grace_seconds", false);
        long graceSeconds = grace == null ? 86400 : grace;
        if (graceSeconds < 0) throw ApiException.invalid("'grace_seconds' must not be negative.", "grace_seconds");
        String key = ApiKeys.generate();
        return db.inTx(jdbc -> {
            Map<String, Object> old = keyRow(jdbc, id);
            requireTeam(caller, (String) old.get("team_id"));
            if (old.get("revoked_at") != null || old.get("replaced_by") != null) {
                throw ApiException.invalid("Key " + id + " is revoked or already rotated.", null, "key_not_rotatable");
            }
            Object oldModels = Json.normalize(old.get("allowed_models"));
            @SuppressWarnings("unchecked")
            List<String> models = (List<String>) oldModels;
            Timestamp oldExpiry = (Timestamp) old.get("expires_at");
            long newId = KeyStore.insertKey(jdbc, key, (String) old.get("team_id"), (String) old.get("name"),
                    Role.valueOf((String) old.get("role")), models, (Integer) old.get("rpm_limit"),
                    (Integer) old.get("tpm_limit"), oldExpiry == null ? null : oldExpiry.toInstant());
            Instant graceEnd = Instant.now().plusSeconds(graceSeconds);
            if (oldExpiry == null || oldExpiry.toInstant().isAfter(graceEnd)) {
                jdbc.update("UPDATE api_keys SET expires_at = ? WHERE id = ?", Timestamp.from(graceEnd), id);
            }
            jdbc.update("UPDATE api_keys SET replaced_by = ? WHERE id = ?", newId, id);
            // Budgets set on the old key follow the new one.
            jdbc.update("UPDATE budgets SET key_id = ? WHERE key_id = ?", newId, id);
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "key.rotate", "key:" + id,
                    Map.of("new_key", newId, "grace_seconds", graceSeconds));
            Map<String, Object> out = new LinkedHashMap<>(keyRow(jdbc, newId));
            out.put("key", key);
            out.put("old_key_expires_at", graceEnd.toString());
            return Json.status(201, out);
        });
    }

    // ---- budgets ----------------------------------------------------------------------------------------

    @PutMapping("/teams/{team}/budgets/{period}")
    @Operation(summary = "Set a team's token budget for DAY or MONTH")
    public Mono<ResponseEntity<String>> teamBudget(@AuthenticationPrincipal Caller caller, @PathVariable String team,
                                                   @PathVariable String period,
                                                   @RequestBody(required = false) String body,
                                                   ServerWebExchange exchange) {
        requireTeam(caller, team);
        if (!caller.isAdmin()) {
            throw ApiException.forbidden("Only an ADMIN may set a team's budget.", "permission_denied");
        }
        return setBudget(caller, "team_id", team, "team:" + team, period, body, exchange);
    }

    @PutMapping("/keys/{id}/budgets/{period}")
    @Operation(summary = "Set a key's token budget for DAY or MONTH")
    public Mono<ResponseEntity<String>> keyBudget(@AuthenticationPrincipal Caller caller, @PathVariable long id,
                                                  @PathVariable String period,
                                                  @RequestBody(required = false) String body,
                                                  ServerWebExchange exchange) {
        return db.call(() -> keyRow(db.jdbc(), id)).flatMap(key -> {
            requireTeam(caller, (String) key.get("team_id"));
            return setBudget(caller, "key_id", id, "key:" + id, period, body, exchange);
        });
    }

    private Mono<ResponseEntity<String>> setBudget(Caller caller, String column, Object owner, String target,
                                                   String period, String body, ServerWebExchange exchange) {
        String p = period.toUpperCase();
        if (!p.equals("DAY") && !p.equals("MONTH")) {
            throw ApiException.invalid("The period must be DAY or MONTH.", "period");
        }
        JsonNode n = Json.read(body);
        long limit = Json.integer(n, "token_limit", true);
        if (limit < 0) throw ApiException.invalid("'token_limit' must not be negative.", "token_limit");
        return db.inTx(jdbc -> {
            if (column.equals("team_id")) teamRow(jdbc, (String) owner);
            int updated = jdbc.update("UPDATE budgets SET token_limit = ? WHERE " + column + " = ? AND period = ?",
                    limit, owner, p);
            if (updated == 0) {
                jdbc.update("INSERT INTO budgets (" + column + ", period, token_limit) VALUES (?, ?, ?)", owner, p, limit);
            }
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "budget.set", target,
                    Map.of("period", p, "token_limit", limit));
            return Json.ok(budgetsOf(jdbc, column, owner));
        });
    }

    @DeleteMapping("/teams/{team}/budgets/{period}")
    @PreAuthorize("hasRole('ADMIN')")
    public Mono<ResponseEntity<String>> deleteTeamBudget(@AuthenticationPrincipal Caller caller,
                                                         @PathVariable String team, @PathVariable String period,
                                                         ServerWebExchange exchange) {
        return db.inTx(jdbc -> {
            jdbc.update("DELETE FROM budgets WHERE team_id = ? AND period = ?", team, period.toUpperCase());
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "budget.delete", "team:" + team,
                    Map.of("period", period.toUpperCase()));
            return Json.ok(budgetsOf(jdbc, "team_id", team));
        });
    }

    @GetMapping("/teams/{team}/budgets")
    @Operation(summary = "A team's budgets (and its keys') with this period's used and reserved tokens")
    public Mono<ResponseEntity<String>> budgets(@AuthenticationPrincipal Caller caller, @PathVariable String team) {
        requireTeam(caller, team);
        return db.call(() -> {
            Map<String, Object> out = budgetsOf(db.jdbc(), "team_id", team);
            out.put("keys", db.jdbc().queryForList("""
                    SELECT b.id, b.key_id, b.period, b.token_limit FROM budgets b JOIN api_keys k ON k.id = b.key_id
                    WHERE k.team_id = ? ORDER BY b.id""", team));
            return Json.ok(out);
        });
    }

    private static Map<String, Object> budgetsOf(JdbcTemplate jdbc, String column, Object owner) {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        List<Map<String, Object>> rows = jdbc.queryForList(
                "SELECT id, period, token_limit FROM budgets WHERE " + column + " = ? ORDER BY period", owner);
        for (Map<String, Object> r : rows) {
            Date start = Date.valueOf(BudgetService.periodStart((String) r.get("period"), today));
            List<Map<String, Object>> c = jdbc.queryForList(
                    "SELECT used_tokens, reserved_tokens FROM budget_counters WHERE budget_id = ? AND period_start = ?",
                    r.get("id"), start);
            r.put("period_start", start);
            r.put("used_tokens", c.isEmpty() ? 0L : c.getFirst().get("used_tokens"));
            r.put("reserved_tokens", c.isEmpty() ? 0L : c.getFirst().get("reserved_tokens"));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("data", rows);
        return out;
    }

    @GetMapping("/teams/{team}/usage")
    @Operation(summary = "A team's usage and cost (TEAM_ADMIN: its own team), same shape as /finance/usage")
    public Mono<ResponseEntity<String>> teamUsage(@AuthenticationPrincipal Caller caller, @PathVariable String team,
                                                  @RequestParam String from, @RequestParam String to,
                                                  @RequestParam(name = "group_by", defaultValue = "model,day") String groupBy,
                                                  @RequestParam(defaultValue = "json") String format) {
        requireTeam(caller, team);
        return FinanceController.report(db, from, to, groupBy, team, null, format);
    }

    @DeleteMapping("/keys/{id}/budgets/{period}")
    @Operation(summary = "Remove a key's DAY or MONTH budget")
    public Mono<ResponseEntity<String>> deleteKeyBudget(@AuthenticationPrincipal Caller caller, @PathVariable long id,
                                                        @PathVariable String period, ServerWebExchange exchange) {
        return db.inTx(jdbc -> {
            Map<String, Object> key = keyRow(jdbc, id);
            requireTeam(caller, (String) key.get("team_id"));
            jdbc.update("DELETE FROM budgets WHERE key_id = ? AND period = ?", id, period.toUpperCase());
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "budget.delete", "key:" + id,
                    Map.of("period", period.toUpperCase()));
            return Json.ok(budgetsOf(jdbc, "key_id", id));
        });
    }

    // ---- audit ------------------------------------------------------------------------------------------

    @GetMapping("/audit")
    @PreAuthorize("hasRole('ADMIN')")
    @Operation(summary = "Recent admin actions (ADMIN)")
    public Mono<ResponseEntity<String>> audit(@RequestParam(defaultValue = "100") int limit) {
        int n = Math.max(1, Math.min(limit, 1000));
        return db.call(() -> Json.ok(Map.of("data", db.jdbc().queryForList("""
                SELECT id, at, actor_key_id, actor_team, actor_role, action, target, details, request_id
                FROM audit_log ORDER BY id DESC LIMIT ?""", n))));
    }
}
