package io.conduit.gateway;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Health, Prometheus metrics (engine included, bounded labels), OpenAPI docs, request ids. */
class OpsTest extends GatewayTestBase {

    @Test
    void healthIsUpWithModelsLoaded() {
        var r = get(null, "/actuator/health");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).get("status").asText()).isEqualTo("UP");
        assertThat(json(r).get("components").get("models").get("status").asText()).isEqualTo("UP");
        assertThat(r.body()).doesNotContain("PostgreSQL").doesNotContain("waiting");
        var admin = get(ADMIN_KEY, "/actuator/health");
        assertThat(json(admin).get("components").get("models").get("details").has("stories260K")).isTrue();
    }

    @Test
    void prometheusHasEngineAndUsageMetricsWithBoundedLabels() {
        String key = memberKey(createTeam(Map.of()));
        assertThat(post(key, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":3}")
                .statusCode()).isEqualTo(200);
        String junkPath = "/v1/junk-" + unique("path");
        get(key, junkPath);
        post(key, "/v1/completions", "{\"model\":\"" + unique("no-such-model") + "\",\"prompt\":\"x\"}");
        // The usage meters are registered one after another once the ledger write succeeds, after the response,
        // and the engine's counters come from a stats snapshot taken after its step: wait for all of them.
        java.util.regex.Pattern generated = java.util.regex.Pattern.compile(
                "conduit_engine_generated_tokens_total\\{[^}]*model=\"stories260K\"[^}]*\\} [1-9]");
        List<String> expected = List.of("conduit_usage_records_total", "conduit_engine_waiting{",
                "conduit_engine_kv_blocks_used{", "conduit_bulkhead_available{", "conduit_tokens_total{",
                "http_server_requests_seconds_count{");
        String metrics = await(() -> {
            String m = get(null, "/actuator/prometheus").body();
            return expected.stream().allMatch(m::contains) && generated.matcher(m).find() ? m : null;
        }, "usage and engine metrics " + expected);
        assertThat(metrics).containsPattern(generated);
        assertThat(metrics).contains(expected);
        // Neither request paths nor unknown model names become label values.
        assertThat(metrics).doesNotContain(junkPath).doesNotContain("no-such-model");
    }

    @Test
    @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
    void logsCarryTheRequestId(org.springframework.boot.test.system.CapturedOutput output) {
        String key = memberKey(createTeam(Map.of()));
        var r = post(key, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":1}");
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        // The access line is written when the exchange ends, just after the client has its response: wait for it.
        java.util.regex.Pattern access = java.util.regex.Pattern.compile("\\[" + id + "\\].*POST /v1/completions -> 200");
        await(() -> access.matcher(output.getOut()).find() ? Boolean.TRUE : null, "the access log line of " + id);
        assertThat(output.getOut()).containsPattern(access);
    }

    @Test
    void openApiDocsDescribeTheApi() {
        var r = get(null, "/v3/api-docs");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).get("paths").has("/v1/chat/completions")).isTrue();
        assertThat(json(r).get("paths").has("/admin/api/finance/usage")).isTrue();
    }

    @Test
    void everyResponseCarriesARequestIdThatKeysTheLedger() {
        String key = memberKey(createTeam(Map.of()));
        var r = post(key, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":2}");
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        assertThat(json(r).get("id").asText()).isEqualTo("cmpl-" + id);
        assertThat(awaitUsage(id).get("status")).isEqualTo("ok");
        // A client-supplied id is not trusted as the ledger key: two requests with the same header get two rows.
        var a = send2(key, "dup-id");
        var b = send2(key, "dup-id");
        assertThat(a).isNotEqualTo(b);
        awaitUsage(a);
        awaitUsage(b);
    }

    private String send2(String key, String clientId) {
        try {
            var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(base() + "/v1/completions"))
                    .header("Authorization", "Bearer " + key).header("X-Request-Id", clientId)
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"max_tokens\":1}")).build();
            return HTTP.send(req, java.net.http.HttpResponse.BodyHandlers.ofString()).headers()
                    .firstValue("x-request-id").orElseThrow();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
