package io.conduit.gateway;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Resilience4j time limit around engine calls: a 2000-token generation takes seconds here (greedy decoding
 * of this prompt never stops early), far beyond a 300 ms limit. The client gets 503, the engine work is
 * cancelled, and the ledger still records the tokens generated until then.
 */
@TestPropertySource(properties = "conduit.request-timeout=300ms")
class TimeLimitTest extends GatewayTestBase {

    @Test
    void slowGenerationIsStoppedWith503AndStillMetered() {
        String team = createTeam(Map.of());
        put(ADMIN_KEY, "/admin/api/teams/" + team + "/budgets/day", "{\"token_limit\":100000}");
        String key = memberKey(team); // outside the timed call: creating a key is not part of the time limit
        long start = System.nanoTime();
        var r = post(key, "/v1/completions",
                "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":2000,\"temperature\":0}");
        long ms = (System.nanoTime() - start) / 1_000_000;
        ErrorsE2ETest.assertError(r, 503, "request_timeout");
        assertThat(r.headers().firstValue("retry-after")).isPresent();
        // Only a bound on gross delays: a loaded 2-core CI box can stall a request for seconds. That the limit,
        // not the end of the generation, ended it is proven by the ledger's completion_tokens < 2000 below.
        assertThat(ms).isLessThan(15_000);
        Map<String, Object> row = awaitUsage(r.headers().firstValue("x-request-id").orElseThrow());
        assertThat(row.get("status")).isEqualTo("error");
        assertThat(row.get("error_code")).isEqualTo("request_timeout");
        assertThat(((Number) row.get("completion_tokens")).intValue()).isBetween(0, 1999);
        Long reserved = jdbc.queryForObject("""
                SELECT c.reserved_tokens FROM budget_counters c JOIN budgets b ON b.id = c.budget_id WHERE b.team_id = ?""",
                Long.class, team);
        assertThat(reserved).isZero();
    }
}
