package io.conduit.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.conduit.gateway.auth.ApiKeys;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Roles, key lifecycle (shown once, hashed, rotate with grace, revoke) and the audit trail. */
class AdminApiTest extends GatewayTestBase {

    @Test
    void keysAreShownOnceAndStoredOnlyAsHashAndPrefix() {
        String team = createTeam(Map.of());
        JsonNode created = createKey(ADMIN_KEY, team, Map.of("name", "ci"));
        String key = created.get("key").asText();
        assertThat(key).startsWith("ck-").hasSizeGreaterThan(40);
        assertThat(created.get("key_prefix").asText()).isEqualTo(key.substring(0, 11));
        var listing = get(ADMIN_KEY, "/admin/api/teams/" + team + "/keys");
        assertThat(listing.body()).doesNotContain(key).contains(key.substring(0, 11));
        Map<String, Object> row = jdbc.queryForMap("SELECT key_prefix, key_hash FROM api_keys WHERE id = ?",
                created.get("id").asLong());
        assertThat(HexFormat.of().formatHex((byte[]) row.get("key_hash")))
                .isEqualTo(HexFormat.of().formatHex(ApiKeys.hash(key)));
        String everything = jdbc.queryForList("SELECT * FROM api_keys").toString()
                + jdbc.queryForList("SELECT * FROM audit_log").toString();
        assertThat(everything).doesNotContain(key);
    }

    @Test
    void rotationKeepsTheOldKeyForTheGracePeriodOnly() {
        String team = createTeam(Map.of());
        JsonNode old = createKey(ADMIN_KEY, team, Map.of());
        String oldKey = old.get("key").asText();
        var r = post(ADMIN_KEY, "/admin/api/keys/" + old.get("id").asLong() + "/rotate", "{\"grace_seconds\":3600}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String newKey = json(r).get("key").asText();
        assertThat(newKey).isNotEqualTo(oldKey);
        assertThat(get(oldKey, "/v1/models").statusCode()).isEqualTo(200);
        assertThat(get(newKey, "/v1/models").statusCode()).isEqualTo(200);
        // Rotating the old key again is refused; rotating the new one with no grace cuts it off at once.
        assertThat(post(ADMIN_KEY, "/admin/api/keys/" + old.get("id").asLong() + "/rotate", "{}").statusCode()).isEqualTo(400);
        var r2 = post(ADMIN_KEY, "/admin/api/keys/" + json(r).get("id").asLong() + "/rotate", "{\"grace_seconds\":0}");
        assertThat(r2.statusCode()).isEqualTo(201);
        assertThat(get(newKey, "/v1/models").statusCode()).isEqualTo(401);
        assertThat(get(json(r2).get("key").asText(), "/v1/models").statusCode()).isEqualTo(200);
    }

    @Test
    void rolesAreEnforcedOnEveryAdminAndFinanceEndpoint() {
        String team = createTeam(Map.of());
        String other = createTeam(Map.of());
        String member = memberKey(team);
        String teamAdmin = createKey(ADMIN_KEY, team, Map.of("role", "TEAM_ADMIN")).get("key").asText();
        String finance = createKey(ADMIN_KEY, "platform", Map.of("role", "FINANCE")).get("key").asText();
        String range = "/admin/api/finance/usage?from=2020-01-01&to=2030-01-01";

        // MEMBER: nothing under /admin/api.
        assertThat(get(member, "/admin/api/teams/" + team + "/keys").statusCode()).isEqualTo(403);
        assertThat(get(member, range).statusCode()).isEqualTo(403);
        assertThat(post(member, "/admin/api/teams", "{\"id\":\"x-member\"}").statusCode()).isEqualTo(403);

        // TEAM_ADMIN: its own team's keys and key budgets, not other teams, not team creation, not finance.
        assertThat(get(teamAdmin, "/admin/api/teams/" + team + "/keys").statusCode()).isEqualTo(200);
        assertThat(post(teamAdmin, "/admin/api/teams/" + team + "/keys", "{\"role\":\"MEMBER\"}").statusCode()).isEqualTo(201);
        assertThat(post(teamAdmin, "/admin/api/teams/" + team + "/keys", "{\"role\":\"ADMIN\"}").statusCode()).isEqualTo(403);
        assertThat(get(teamAdmin, "/admin/api/teams/" + other + "/keys").statusCode()).isEqualTo(403);
        assertThat(post(teamAdmin, "/admin/api/teams/" + other + "/keys", "{}").statusCode()).isEqualTo(403);
        assertThat(post(teamAdmin, "/admin/api/teams", "{\"id\":\"x-ta\"}").statusCode()).isEqualTo(403);
        assertThat(put(teamAdmin, "/admin/api/teams/" + team + "/budgets/day", "{\"token_limit\":5}").statusCode()).isEqualTo(403);
        assertThat(get(teamAdmin, range).statusCode()).isEqualTo(403);
        assertThat(get(teamAdmin, "/admin/api/audit").statusCode()).isEqualTo(403);
        var completion = post(member, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":2}");
        assertThat(completion.statusCode()).isEqualTo(200);
        // The request's own UTC day (the clock's day before or after it differs if it ran over midnight); the
        // ledger row and the rollup row are written in one transaction.
        String today = utcDay(awaitUsage(completion.headers().firstValue("x-request-id").orElseThrow())).toString();
        var own = get(teamAdmin, "/admin/api/teams/" + team + "/usage?from=" + today + "&to=" + today);
        assertThat(own.statusCode()).isEqualTo(200);
        assertThat(json(own).get("data").get(0).get("requests").asLong()).isEqualTo(1);
        assertThat(get(teamAdmin, "/admin/api/teams/" + other + "/usage?from=" + today + "&to=" + today).statusCode())
                .isEqualTo(403);
        JsonNode teams = json(get(teamAdmin, "/admin/api/teams")).get("data");
        assertThat(teams).hasSize(1);
        assertThat(teams.get(0).get("id").asText()).isEqualTo(team);

        // FINANCE: reports and prices, not teams or keys.
        assertThat(get(finance, range).statusCode()).isEqualTo(200);
        assertThat(get(finance, "/admin/api/prices").statusCode()).isEqualTo(200);
        assertThat(get(finance, "/admin/api/teams").statusCode()).isEqualTo(403);
        assertThat(post(finance, "/admin/api/teams/" + team + "/keys", "{}").statusCode()).isEqualTo(403);

        // The bootstrap admin key also calls /v1 as the platform team.
        assertThat(get(ADMIN_KEY, "/v1/models").statusCode()).isEqualTo(200);
    }

    @Test
    void everyAdminActionIsAudited() {
        String team = createTeam(Map.of("rpm_limit", 100));
        JsonNode k = createKey(ADMIN_KEY, team, Map.of());
        long id = k.get("id").asLong();
        put(ADMIN_KEY, "/admin/api/keys/" + id + "/budgets/month", "{\"token_limit\":1000}");
        post(ADMIN_KEY, "/admin/api/keys/" + id + "/revoke", "");
        List<String> actions = jdbc.queryForList("""
                SELECT action FROM audit_log WHERE target IN (?, ?) ORDER BY id""", String.class, "team:" + team, "key:" + id);
        assertThat(actions).containsExactly("team.create", "key.create", "budget.set", "key.revoke");
        Map<String, Object> last = jdbc.queryForMap("SELECT * FROM audit_log WHERE target = ? AND action = 'key.revoke'", "key:" + id);
        assertThat(last.get("actor_role")).isEqualTo("ADMIN");
        assertThat(last.get("actor_team")).isEqualTo("platform");
        assertThat((String) last.get("request_id")).hasSize(32);
        JsonNode audit = json(get(ADMIN_KEY, "/admin/api/audit?limit=5")).get("data");
        assertThat(audit.get(0).get("action").asText()).isEqualTo("key.revoke");
    }

    @Test
    void jsonSentWithCurlsDefaultFormContentTypeIsAccepted() throws Exception {
        String id = unique("form");
        var r = HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base() + "/admin/api/teams"))
                .header("Authorization", "Bearer " + ADMIN_KEY)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"id\":\"" + id + "\"}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        var c = HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base() + "/v1/completions"))
                .header("Authorization", "Bearer " + memberKey(id))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":2}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
    }

    @Test
    void adminInputErrorsAreOpenAiShaped() {
        var r = post(ADMIN_KEY, "/admin/api/teams", "{\"id\": \"Bad Id!\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(json(r).get("error").get("param").asText()).isEqualTo("id");
        assertThat(post(ADMIN_KEY, "/admin/api/teams", "{not json").statusCode()).isEqualTo(400);
        String team = createTeam(Map.of());
        assertThat(post(ADMIN_KEY, "/admin/api/teams", "{\"id\":\"" + team + "\"}").statusCode()).isEqualTo(409);
        assertThat(get(ADMIN_KEY, "/admin/api/teams/no-such-team").statusCode()).isEqualTo(404);
        assertThat(put(ADMIN_KEY, "/admin/api/teams/" + team + "/budgets/week", "{\"token_limit\":5}").statusCode()).isEqualTo(400);
    }
}
