package io.conduit.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Prices with effective dates, cost at request time, reports from the rollup, CSV export. */
class FinanceTest extends GatewayTestBase {

    @Test
    void costUsesThePriceInForceAtRequestTimeAndReportsAgreeWithTheLedger() {
        // A model of its own so other tests' prices and traffic cannot interfere: stories-b1.
        assertThat(post(ADMIN_KEY, "/admin/api/prices", """
                {"model":"stories-b1","effective_from":"2020-01-01T00:00:00Z","input_per_mtok":1000,
                 "cached_input_per_mtok":500,"output_per_mtok":2000}""").statusCode()).isEqualTo(201);
        // A future price must not apply yet.
        assertThat(post(ADMIN_KEY, "/admin/api/prices", """
                {"model":"stories-b1","effective_from":"2999-01-01T00:00:00Z","input_per_mtok":9,"output_per_mtok":9}""")
                .statusCode()).isEqualTo(201);
        String team = createTeam(Map.of());
        String key = memberKey(team);
        var r = post(key, "/v1/completions", "{\"model\":\"stories-b1\",\"prompt\":\"Once upon a time\",\"max_tokens\":7,\"temperature\":0}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode usage = json(r).get("usage");
        long prompt = usage.get("prompt_tokens").asLong();
        long cached = usage.get("prompt_tokens_details").get("cached_tokens").asLong();
        long completion = usage.get("completion_tokens").asLong();
        BigDecimal expected = BigDecimal.valueOf((prompt - cached) * 1000 + cached * 500 + completion * 2000)
                .divide(BigDecimal.valueOf(1_000_000));
        Map<String, Object> row = awaitUsage(r.headers().firstValue("x-request-id").orElseThrow());
        assertThat(((BigDecimal) row.get("cost")).compareTo(expected)).isZero();

        // The request's own UTC day (not the clock's after it: the two differ if the request ran over midnight).
        String today = utcDay(row).toString();
        var report = get(ADMIN_KEY, "/admin/api/finance/usage?from=" + today + "&to=" + today
                + "&group_by=team,model,adapter,day&team=" + team);
        assertThat(report.statusCode()).isEqualTo(200);
        JsonNode data = json(report).get("data");
        assertThat(data).hasSize(1);
        assertThat(data.get(0).get("model").asText()).isEqualTo("stories-b1");
        assertThat(data.get(0).get("day").asText()).isEqualTo(today);
        assertThat(data.get(0).get("requests").asLong()).isEqualTo(1);
        assertThat(data.get(0).get("completion_tokens").asLong()).isEqualTo(completion);
        assertThat(data.get(0).get("cost").decimalValue().compareTo(expected)).isZero();

        var csv = get(ADMIN_KEY, "/admin/api/finance/usage?from=" + today + "&to=" + today
                + "&group_by=team,model&team=" + team + "&format=csv");
        assertThat(csv.statusCode()).isEqualTo(200);
        assertThat(csv.headers().firstValue("content-type").orElseThrow()).startsWith("text/csv");
        assertThat(csv.headers().firstValue("content-disposition").orElseThrow()).contains("attachment");
        assertThat(csv.body().split("\r\n")).containsExactly(
                "team_id,model,requests,failed_requests,prompt_tokens,cached_tokens,completion_tokens,cost",
                team + ",stories-b1,1,0," + prompt + "," + cached + "," + completion + "," + expected.stripTrailingZeros().toPlainString());
    }

    @Test
    void rollupRebuildRestoresTheLedgerTotals() {
        String team = createTeam(Map.of());
        String key = memberKey(team);
        for (int i = 0; i < 3; i++) {
            // Greedy: a sampled "Once" could end (EOS) before its 3 tokens and make the expected total below vary.
            assertThat(post(key, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":3,\"temperature\":0}")
                    .statusCode()).isEqualTo(200);
        }
        await(() -> jdbc.queryForObject("SELECT count(*) FROM usage_records WHERE team_id = ?", Long.class, team) == 3
                ? Boolean.TRUE : null, "3 usage records");
        jdbc.update("UPDATE usage_daily SET requests = 999, completion_tokens = 0 WHERE team_id = ?", team);
        // The UTC days the requests were filed under (two, if they ran over midnight), not the clock's day now.
        Map<String, Object> days = jdbc.queryForMap("""
                SELECT min(requested_at AT TIME ZONE 'UTC')::date::text AS first, max(requested_at AT TIME ZONE 'UTC')::date::text AS last
                FROM usage_records WHERE team_id = ?""", team);
        String finance = createKey(ADMIN_KEY, "platform", Map.of("role", "FINANCE")).get("key").asText();
        String body = "{\"from\":\"" + days.get("first") + "\",\"to\":\"" + days.get("last") + "\"}";
        assertThat(post(finance, "/admin/api/finance/rollups/rebuild", body).statusCode()).isEqualTo(403);
        assertThat(post(ADMIN_KEY, "/admin/api/finance/rollups/rebuild", body).statusCode()).isEqualTo(200);
        Map<String, Object> daily = jdbc.queryForMap(
                "SELECT sum(requests) AS requests, sum(completion_tokens) AS completion_tokens FROM usage_daily WHERE team_id = ?",
                team);
        Map<String, Object> ledger = jdbc.queryForMap(
                "SELECT count(*) AS requests, sum(completion_tokens) AS completion_tokens FROM usage_records WHERE team_id = ?", team);
        assertThat(((Number) daily.get("requests")).longValue()).isEqualTo(3);
        assertThat(((Number) daily.get("completion_tokens")).longValue())
                .isEqualTo(((Number) ledger.get("completion_tokens")).longValue()).isEqualTo(9);
    }

    @Test
    void reportsRejectBadRanges() {
        assertThat(get(ADMIN_KEY, "/admin/api/finance/usage?from=2026-02-01&to=2026-01-01").statusCode()).isEqualTo(400);
        assertThat(get(ADMIN_KEY, "/admin/api/finance/usage?from=yesterday&to=2026-01-01").statusCode()).isEqualTo(400);
        assertThat(get(ADMIN_KEY, "/admin/api/finance/usage?from=2026-01-01&to=2026-01-02&group_by=colour").statusCode())
                .isEqualTo(400);
    }
}
