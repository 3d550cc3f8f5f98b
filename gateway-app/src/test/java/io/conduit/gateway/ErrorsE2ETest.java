package io.conduit.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Every failure is an OpenAI-shaped error with the right status, over plain HTTP; no stack traces. */
class ErrorsE2ETest extends GatewayTestBase {
    private static final String COMPLETION = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":4}";

    static JsonNode assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ");
        JsonNode e = json(r).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.has("type") && e.has("param") && e.has("code")).isTrue();
        if (code != null) assertThat(e.get("code").asText()).isEqualTo(code);
        return e;
    }

    @Test
    void malformedAndInvalidRequestsAre400() {
        String key = memberKey(createTeam(Map.of()));
        assertError(post(key, "/v1/chat/completions", "{\"model\": \"stories260K\", "), 400, "invalid_json");
        assertError(post(key, "/v1/chat/completions", "[1,2]"), 400, null);
        assertError(post(key, "/v1/chat/completions", "{\"model\":\"stories260K\"}"), 400, null);
        assertError(post(key, "/v1/chat/completions", "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"),
                400, "model_not_found");
        JsonNode e = assertError(post(key, "/v1/completions",
                "{\"model\":\"stories260K\",\"prompt\":\"x\",\"temperature\":3}"), 400, null);
        assertThat(e.get("param").asText()).isEqualTo("temperature");
        e = assertError(post(key, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"n\":\"two\"}"), 400, null);
        assertThat(e.get("param").asText()).isEqualTo("n");
        e = assertError(post(key, "/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}"), 400,
                "unsupported_parameter");
        assertThat(e.get("param").asText()).isEqualTo("tools");
    }

    @Test
    void contextOverflowIs400() {
        String key = memberKey(createTeam(Map.of()));
        String longPrompt = "once upon a time ".repeat(1500);
        JsonNode e = assertError(post(key, "/v1/completions",
                toJson(Map.of("model", "stories260K", "prompt", longPrompt, "max_tokens", 1))), 400, "context_length_exceeded");
        assertThat(e.get("message").asText()).contains("2048");
        assertError(post(key, "/v1/chat/completions", toJson(Map.of("model", "stories260K", "max_tokens", 2048,
                "messages", List.of(Map.of("role", "user", "content", "hi"))))), 400, "context_length_exceeded");
    }

    @Test
    void promptIdsOutsideTheVocabularyAre400AndReleaseTheReservation() throws Exception {
        String team = createTeam(Map.of());
        put(ADMIN_KEY, "/admin/api/teams/" + team + "/budgets/day", "{\"token_limit\":1000000}");
        String key = memberKey(team);
        for (Object prompt : List.of(List.of(1, 99999), List.of(List.of(1, 2), List.of(-1)))) {
            HttpResponse<String> r = post(key, "/v1/completions",
                    toJson(Map.of("model", "stories260K", "prompt", prompt, "max_tokens", 4)));
            JsonNode e = assertError(r, 400, null);
            assertThat(e.get("message").asText()).contains("vocabulary");
            Map<String, Object> row = awaitUsage(r.headers().firstValue("x-request-id").orElseThrow());
            assertThat(row.get("http_status")).isEqualTo(400);
            assertThat(row.get("status")).isEqualTo("rejected");
            // Checked before admission: no choice of the batch ever started generating.
            assertThat(((Number) row.get("completion_tokens")).intValue()).isZero();
        }
        assertThat(jdbc.queryForObject("SELECT count(*) FROM budget_reservations r JOIN budgets b ON b.id = r.budget_id "
                + "WHERE b.team_id = ?", Long.class, team)).isZero();
        Long reserved = jdbc.queryForObject("""
                SELECT coalesce(sum(c.reserved_tokens), 0) FROM budget_counters c JOIN budgets b ON b.id = c.budget_id
                WHERE b.team_id = ?""", Long.class, team);
        assertThat(reserved).isZero();
    }

    @Test
    void missingBadRevokedAndExpiredKeysAre401() {
        assertError(post(null, "/v1/completions", COMPLETION), 401, "missing_api_key");
        assertError(post("ck-thisisnotavalidkeyatall", "/v1/completions", COMPLETION), 401, "invalid_api_key");
        assertError(post("sk-openai-style", "/v1/completions", COMPLETION), 401, "invalid_api_key");
        String team = createTeam(Map.of());
        JsonNode k = createKey(ADMIN_KEY, team, Map.of("role", "MEMBER"));
        assertThat(post(k.get("key").asText(), "/v1/completions", COMPLETION).statusCode()).isEqualTo(200);
        assertThat(post(ADMIN_KEY, "/admin/api/keys/" + k.get("id").asLong() + "/revoke", "").statusCode()).isEqualTo(200);
        JsonNode e = assertError(post(k.get("key").asText(), "/v1/completions", COMPLETION), 401, "invalid_api_key");
        assertThat(e.get("message").asText()).contains("revoked");
        String expired = createKey(ADMIN_KEY, team, Map.of("expires_at", "2020-01-01T00:00:00Z")).get("key").asText();
        assertThat(assertError(get(expired, "/v1/models"), 401, "invalid_api_key").get("message").asText()).contains("expired");
    }

    @Test
    void modelAndAdapterPermissions403And404() {
        String team = createTeam(Map.of("allowed_models", List.of("stories-b1")));
        String key = memberKey(team);
        assertError(post(key, "/v1/completions", COMPLETION), 403, "model_not_allowed");
        assertError(post(key, "/v1/completions", COMPLETION.replace("stories260K", "stories260K:demo")), 403, "model_not_allowed");
        assertError(post(key, "/v1/completions", COMPLETION.replace("stories260K", "stories260K:unknown")), 404, "adapter_not_found");
        // An allow-list entry naming the adapter admits exactly that adapter.
        String adapterTeam = createTeam(Map.of("allowed_models", List.of("stories260K:demo")));
        String ak = memberKey(adapterTeam);
        assertThat(post(ak, "/v1/completions", COMPLETION.replace("stories260K", "stories260K:demo")).statusCode()).isEqualTo(200);
        assertError(post(ak, "/v1/completions", COMPLETION), 403, "model_not_allowed");
    }

    @Test
    void bodyTooLargeIs413() {
        String key = memberKey(createTeam(Map.of()));
        String big = "{\"model\":\"stories260K\",\"prompt\":\"" + "a".repeat(1_100_000) + "\"}";
        assertError(post(key, "/v1/completions", big), 413, "request_too_large");
    }

    @Test
    void rateLimitsAre429WithRetryAfter() {
        String team = createTeam(Map.of());
        // RPM windows are clock minutes: the three requests must fall into one of them (a fresh key per try).
        List<HttpResponse<String>> rpm = ClockWindows.withinOneMinute(() -> {
            String key = createKey(ADMIN_KEY, team, Map.of("rpm_limit", 2)).get("key").asText();
            return List.of(post(key, "/v1/completions", COMPLETION), post(key, "/v1/completions", COMPLETION),
                    post(key, "/v1/completions", COMPLETION));
        });
        assertThat(rpm.get(0).statusCode()).isEqualTo(200);
        assertThat(rpm.get(1).statusCode()).isEqualTo(200);
        HttpResponse<String> r = rpm.get(2);
        assertError(r, 429, "rate_limit_exceeded");
        assertThat(Long.parseLong(r.headers().firstValue("retry-after").orElseThrow())).isBetween(1L, 60L);

        String tpmKey = createKey(ADMIN_KEY, team, Map.of("tpm_limit", 50)).get("key").asText();
        HttpResponse<String> t = post(tpmKey, "/v1/completions",
                "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":100}");
        assertError(t, 429, "rate_limit_exceeded");
        assertThat(t.headers().firstValue("retry-after")).isPresent();
        assertThat(post(tpmKey, "/v1/completions", COMPLETION).statusCode()).isEqualTo(200);
    }

    @Test
    void budgetExhaustionIs429WithRetryAfter() {
        String team = createTeam(Map.of());
        assertThat(put(ADMIN_KEY, "/admin/api/teams/" + team + "/budgets/month", "{\"token_limit\":8}").statusCode())
                .isEqualTo(200);
        HttpResponse<String> r = post(memberKey(team), "/v1/completions", COMPLETION);
        JsonNode e = assertError(r, 429, "insufficient_quota");
        assertThat(e.get("type").asText()).isEqualTo("insufficient_quota");
        assertThat(Long.parseLong(r.headers().firstValue("retry-after").orElseThrow())).isPositive();
    }

    /** A raw socket streaming request: read the first chunks, then hang up. */
    private record OpenStream(Socket socket, BufferedReader reader, String requestId) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    private OpenStream openStream(String key, String model, int maxTokens) throws Exception {
        String body = toJson(Map.of("model", model, "prompt", "Once upon a time", "max_tokens", maxTokens,
                "temperature", 0, "stream", true));
        Socket s = new Socket("127.0.0.1", port);
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key
                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        String status = in.readLine();
        assertThat(status).contains("200");
        String requestId = null;
        String line;
        int dataLines = 0;
        while ((line = in.readLine()) != null) {
            if (line.toLowerCase().startsWith("x-request-id:")) requestId = line.substring(13).trim();
            if (line.contains("data: {")) dataLines++;
            if (dataLines == 3) break;
        }
        assertThat(dataLines).isEqualTo(3);
        return new OpenStream(s, in, requestId);
    }

    @Test
    void clientDisconnectMidStreamIsMeteredAsCancelledAndReleasesTheReservation() throws Exception {
        String team = createTeam(Map.of());
        put(ADMIN_KEY, "/admin/api/teams/" + team + "/budgets/day", "{\"token_limit\":1000000}");
        String key = memberKey(team);
        String requestId;
        // As long a generation as the 2048-token context allows (seconds of work), so that the hang-up right
        // after the third chunk reaches the server long before the generation could end by itself.
        try (OpenStream s = openStream(key, "stories260K", 2000)) {
            requestId = s.requestId();
        }
        Map<String, Object> row = awaitUsage(requestId);
        assertThat(row.get("status")).isEqualTo("cancelled");
        int completion = ((Number) row.get("completion_tokens")).intValue();
        assertThat(completion).isBetween(3, 1999);
        assertThat(((Number) row.get("prompt_tokens")).intValue()).isPositive();
        Map<String, Object> counter = jdbc.queryForMap("""
                SELECT c.used_tokens, c.reserved_tokens FROM budget_counters c JOIN budgets b ON b.id = c.budget_id
                WHERE b.team_id = ?""", team);
        assertThat(((Number) counter.get("reserved_tokens")).longValue()).isZero();
        assertThat(((Number) counter.get("used_tokens")).longValue())
                .isEqualTo(completion + ((Number) row.get("prompt_tokens")).longValue());
        assertThat(jdbc.queryForObject("SELECT count(*) FROM budget_reservations WHERE request_id = ?", Long.class, requestId))
                .isZero();
    }

    @Test
    void clientsHangingUpAtAnyPointNeverLeaveReservationsBehind() throws Exception {
        String team = createTeam(Map.of());
        put(ADMIN_KEY, "/admin/api/teams/" + team + "/budgets/day", "{\"token_limit\":10000000}");
        String key = memberKey(team);
        for (int i = 0; i < 20; i++) {
            boolean stream = i % 2 == 0;
            String body = toJson(Map.of("model", "stories260K", "prompt", "Once upon a time", "max_tokens", 1500,
                    "temperature", 0, "stream", stream));
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.UTF_8));
                s.getOutputStream().flush();
                Thread.sleep(i % 5); // hang up at slightly different points of admission
            }
        }
        // Whatever point each client left at, every reservation ends settled and the counter equals the ledger.
        // "Settled" alone is also true before the first request is admitted, so wait for records to exist and for
        // their count to hold still across a few polls with nothing reserved.
        long[] lastCount = {-1};
        int[] stablePolls = {0};
        await(() -> {
            Long reserved = jdbc.queryForObject("""
                    SELECT coalesce(sum(c.reserved_tokens), 0) FROM budget_counters c JOIN budgets b ON b.id = c.budget_id
                    WHERE b.team_id = ?""", Long.class, team);
            Long pending = jdbc.queryForObject("""
                    SELECT count(*) FROM budget_reservations r JOIN budgets b ON b.id = r.budget_id WHERE b.team_id = ?""",
                    Long.class, team);
            Long records = jdbc.queryForObject("SELECT count(*) FROM usage_records WHERE team_id = ?", Long.class, team);
            boolean settled = reserved == 0 && pending == 0 && records > 0;
            stablePolls[0] = settled && records == lastCount[0] ? stablePolls[0] + 1 : 0;
            lastCount[0] = records;
            return stablePolls[0] >= 20 ? Boolean.TRUE : null; // ~0.5 s without a new record or reservation
        }, "all reservations settled");
        Long used = jdbc.queryForObject("""
                SELECT coalesce(sum(c.used_tokens), 0) FROM budget_counters c JOIN budgets b ON b.id = c.budget_id
                WHERE b.team_id = ?""", Long.class, team);
        Long ledger = jdbc.queryForObject(
                "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage_records WHERE team_id = ?", Long.class, team);
        assertThat(used).isEqualTo(ledger);
        // A server only learns of a hang-up when it reads EOF or a write fails, so a request may legitimately
        // finish first; either way it ends as exactly one record: a full answer, or a cancelled partial one.
        List<Map<String, Object>> rows = jdbc.queryForList(
                "SELECT status, completion_tokens FROM usage_records WHERE team_id = ?", team);
        assertThat(rows).hasSizeLessThanOrEqualTo(20);
        for (Map<String, Object> row : rows) {
            int completion = ((Number) row.get("completion_tokens")).intValue();
            if ("ok".equals(row.get("status"))) assertThat(completion).isEqualTo(1500);
            else assertThat(row.get("status")).isEqualTo("cancelled");
        }
        assertThat(rows).as("streams written to a closed socket are cancelled")
                .anySatisfy(row -> assertThat(row.get("status")).isEqualTo("cancelled"));
    }

    @Test
    void fullBulkheadIs503WithRetryAfter() throws Exception {
        String key = memberKey(createTeam(Map.of()));
        String busyId;
        HttpResponse<String> r;
        // The busy stream must still hold the one-request bulkhead when the second request arrives, and still be
        // generating when it hangs up: the longest generation the context allows, and a hang-up right after the
        // 503 (the ledger checks come after it, not while the busy stream has to keep running).
        try (OpenStream busy = openStream(key, "stories-b1", 2000)) {
            busyId = busy.requestId();
            r = post(key, "/v1/completions", COMPLETION.replace("stories260K", "stories-b1"));
        }
        assertError(r, 503, "engine_overloaded");
        assertThat(r.headers().firstValue("retry-after")).isPresent();
        String rid = r.headers().firstValue("x-request-id").orElseThrow();
        Map<String, Object> row = awaitUsage(rid);
        assertThat(row.get("status")).isEqualTo("rejected");
        assertThat(row.get("http_status")).isEqualTo(503);
        // The hung-up stream is cancelled and metered; its bulkhead slot is free again once it is recorded.
        assertThat(awaitUsage(busyId).get("status")).isEqualTo("cancelled");
        assertThat(post(key, "/v1/completions", COMPLETION.replace("stories260K", "stories-b1")).statusCode()).isEqualTo(200);
    }

    @Test
    void unknownEndpointsAndAdminWithoutRoleAreOpenAiShaped() {
        String key = memberKey(createTeam(Map.of()));
        assertError(get(key, "/v1/nothing-here"), 404, null);
        assertError(get(key, "/admin/api/teams"), 403, "permission_denied");
        assertError(get(null, "/admin/api/teams"), 401, "missing_api_key");
    }
}
