package io.conduit.gateway;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 100 concurrent requests against a budget with room for 13 of them. Greedy decoding of this prompt never
 * hits EOS within 10 tokens, so each admitted request uses exactly its reservation (5 prompt + 10 completion):
 * exactly 13 may succeed however the requests interleave, and the budget must never be overrun.
 */
class BudgetConcurrencyTest extends GatewayTestBase {

    record Run(String team, List<HttpResponse<String>> responses) {
    }

    @Test
    void hundredConcurrentRequestsNeverOverrunTheBudget() throws Exception {
        long limit = 200; // 13 x 15 = 195 fits, a 14th would need 210
        // A day budget: all 100 reservations must fall on one UTC day (a fresh team if a try crosses midnight).
        Run run = ClockWindows.withinOneUtcDay(() -> hundredConcurrentRequests(limit));
        String team = run.team();
        int ok = 0, quota = 0;
        long billed = 0;
        for (HttpResponse<String> r : run.responses()) {
            if (r.statusCode() == 200) {
                ok++;
                billed += json(r).get("usage").get("total_tokens").asLong();
            } else {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
                assertThat(json(r).get("error").get("code").asText()).isEqualTo("insufficient_quota");
                assertThat(r.headers().firstValue("retry-after")).isPresent();
                quota++;
            }
        }
        assertThat(ok).isEqualTo(13);
        assertThat(quota).isEqualTo(87);
        assertThat(billed).isEqualTo(195);

        // One ledger row per request, 100 in all; the settled counter equals the ledger and nothing stays reserved.
        await(() -> jdbc.queryForObject("SELECT count(*) FROM usage_records WHERE team_id = ?", Long.class, team) == 100
                ? Boolean.TRUE : null, "100 usage records");
        Map<String, Object> ledger = jdbc.queryForMap("""
                SELECT count(*) FILTER (WHERE status = 'ok') AS ok, count(*) FILTER (WHERE status = 'rejected') AS rejected,
                       coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens
                FROM usage_records WHERE team_id = ?""", team);
        assertThat(((Number) ledger.get("ok")).intValue()).isEqualTo(13);
        assertThat(((Number) ledger.get("rejected")).intValue()).isEqualTo(87);
        assertThat(((Number) ledger.get("tokens")).longValue()).isEqualTo(195);
        Map<String, Object> counter = jdbc.queryForMap("""
                SELECT c.used_tokens, c.reserved_tokens FROM budget_counters c JOIN budgets b ON b.id = c.budget_id
                WHERE b.team_id = ?""", team);
        assertThat(((Number) counter.get("used_tokens")).longValue()).isEqualTo(195).isLessThanOrEqualTo(limit);
        assertThat(((Number) counter.get("reserved_tokens")).longValue()).isZero();
        // The daily rollup agrees with the ledger.
        Map<String, Object> daily = jdbc.queryForMap(
                "SELECT sum(requests) AS requests, sum(prompt_tokens + completion_tokens) AS tokens FROM usage_daily WHERE team_id = ?",
                team);
        assertThat(((Number) daily.get("requests")).longValue()).isEqualTo(100);
        assertThat(((Number) daily.get("tokens")).longValue()).isEqualTo(195);
    }

    private Run hundredConcurrentRequests(long limit) {
        String team = createTeam(Map.of());
        assertThat(put(ADMIN_KEY, "/admin/api/teams/" + team + "/budgets/day",
                "{\"token_limit\":" + limit + "}").statusCode()).isEqualTo(200);
        String key = memberKey(team);
        String body = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":10,\"temperature\":0}";
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            futures.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base() + "/v1/completions"))
                        .timeout(Duration.ofSeconds(120)).header("Authorization", "Bearer " + key)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.ofString()).join();
            }, java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
        }
        go.countDown();
        return new Run(team, futures.stream().map(CompletableFuture::join).toList());
    }

    @Test
    void keyBudgetAppliesOnTopOfTheTeamBudget() {
        String body = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":10,\"temperature\":0}";
        // A day budget: the requests must fall on one UTC day (a fresh team and key if a try crosses midnight).
        List<Integer> statuses = ClockWindows.withinOneUtcDay(() -> {
            String team = createTeam(Map.of());
            var k = createKey(ADMIN_KEY, team, Map.of("role", "MEMBER"));
            String key = k.get("key").asText();
            assertThat(put(ADMIN_KEY, "/admin/api/keys/" + k.get("id").asLong() + "/budgets/day",
                    "{\"token_limit\":20}").statusCode()).isEqualTo(200);
            int first = post(key, "/v1/completions", body).statusCode();
            awaitUsageCount(team, 1);
            int second = post(key, "/v1/completions", body).statusCode();
            // Another key of the same team is not limited by that key's budget.
            int otherKey = post(memberKey(team), "/v1/completions", body).statusCode();
            return List.of(first, second, otherKey);
        });
        assertThat(statuses).containsExactly(200, 429, 200);
    }

    private void awaitUsageCount(String team, long n) {
        await(() -> jdbc.queryForObject("SELECT count(*) FROM usage_records WHERE team_id = ?", Long.class, team) >= n
                ? Boolean.TRUE : null, n + " usage records");
    }
}
