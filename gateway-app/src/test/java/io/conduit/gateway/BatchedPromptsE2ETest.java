package io.conduit.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.conduit.core.tokenizer.Tokenizer;
import io.conduit.gateway.engine.ModelPool;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Legacy completions with a batch of prompts, over real HTTP: choice i belongs to prompt i / n, each prompt
 * behaves as it would alone (greedy decoding), and usage counts each prompt once, in the response and the ledger.
 */
class BatchedPromptsE2ETest extends GatewayTestBase {
    private static final String A = "Once upon a time";
    private static final String B = "The little dog";

    @Autowired
    ModelPool pool;

    private record Single(String text, String finish, long prompt, long completion) {
    }

    private static Map<String, Object> body(Object prompt, int n, Map<String, ?> extra) {
        Map<String, Object> b = new HashMap<>(Map.of("model", "stories260K", "prompt", prompt, "n", n,
                "max_tokens", 8, "temperature", 0));
        b.putAll(extra);
        return b;
    }

    private Single single(String key, String prompt) {
        HttpResponse<String> r = post(key, "/v1/completions", toJson(body(prompt, 1, Map.of())));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = json(r);
        JsonNode c = j.get("choices").get(0);
        return new Single(c.get("text").asText(), c.get("finish_reason").asText(),
                j.get("usage").get("prompt_tokens").asLong(), j.get("usage").get("completion_tokens").asLong());
    }

    private static String requestId(HttpResponse<String> r) {
        return r.headers().firstValue("x-request-id").orElseThrow();
    }

    private void assertLedger(String requestId, JsonNode usage) {
        Map<String, Object> row = awaitUsage(requestId);
        assertThat(row.get("status")).isEqualTo("ok");
        assertThat(row.get("endpoint")).isEqualTo("completions");
        assertThat(((Number) row.get("prompt_tokens")).longValue()).isEqualTo(usage.get("prompt_tokens").asLong());
        assertThat(((Number) row.get("completion_tokens")).longValue()).isEqualTo(usage.get("completion_tokens").asLong());
        assertThat(((Number) row.get("cached_tokens")).longValue())
                .isEqualTo(usage.get("prompt_tokens_details").get("cached_tokens").asLong());
        assertThat(jdbc.queryForObject("SELECT count(*) FROM usage_records WHERE request_id = ?", Long.class, requestId))
                .isEqualTo(1);
    }

    @Test
    void stringPromptsWithNMatchSingleRequestsAndLedger() {
        String key = memberKey(createTeam(Map.of()));
        List<Single> singles = List.of(single(key, A), single(key, B));
        assertThat(singles.get(0).text()).as("the two prompts must be told apart").isNotEqualTo(singles.get(1).text());
        HttpResponse<String> r = post(key, "/v1/completions", toJson(body(List.of(A, B), 2, Map.of())));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = json(r);
        assertThat(j.get("id").asText()).isEqualTo("cmpl-" + requestId(r));
        JsonNode choices = j.get("choices");
        assertThat(choices).hasSize(4);
        for (int i = 0; i < 4; i++) {
            JsonNode c = choices.get(i);
            assertThat(c.get("index").asInt()).isEqualTo(i);
            assertThat(c.get("text").asText()).as("choice " + i).isEqualTo(singles.get(i / 2).text());
            assertThat(c.get("finish_reason").asText()).isEqualTo(singles.get(i / 2).finish());
        }
        JsonNode usage = j.get("usage");
        assertThat(usage.get("prompt_tokens").asLong()).isEqualTo(singles.get(0).prompt() + singles.get(1).prompt());
        assertThat(usage.get("completion_tokens").asLong())
                .isEqualTo(2 * (singles.get(0).completion() + singles.get(1).completion()));
        assertThat(usage.get("total_tokens").asLong())
                .isEqualTo(usage.get("prompt_tokens").asLong() + usage.get("completion_tokens").asLong());
        assertLedger(requestId(r), usage);
    }

    @Test
    void streamingCarriesChoiceIndexesAndBatchUsage() throws Exception {
        String key = memberKey(createTeam(Map.of()));
        List<Single> singles = List.of(single(key, A), single(key, B));
        HttpResponse<String> r = post(key, "/v1/completions", toJson(body(List.of(A, B), 2,
                Map.of("stream", true, "stream_options", Map.of("include_usage", true)))));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        StringBuilder[] texts = new StringBuilder[4];
        String[] finish = new String[4];
        for (int i = 0; i < 4; i++) texts[i] = new StringBuilder();
        JsonNode usage = null;
        List<String> events = new ArrayList<>();
        for (String block : r.body().split("\n\n")) {
            if (block.isBlank()) continue;
            assertThat(block).startsWith("data: ");
            events.add(block.substring("data: ".length()));
        }
        assertThat(events.getLast()).isEqualTo("[DONE]");
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode chunk = JSON.readTree(e);
            assertThat(chunk.get("object").asText()).isEqualTo("text_completion");
            if (chunk.get("usage").isObject()) {
                assertThat(usage).as("one usage chunk").isNull();
                assertThat(chunk.get("choices")).isEmpty();
                usage = chunk.get("usage");
                continue;
            }
            for (JsonNode c : chunk.get("choices")) {
                int i = c.get("index").asInt();
                assertThat(i).isBetween(0, 3);
                texts[i].append(c.get("text").asText());
                if (!c.get("finish_reason").isNull()) finish[i] = c.get("finish_reason").asText();
            }
        }
        for (int i = 0; i < 4; i++) {
            assertThat(texts[i].toString()).as("choice " + i).isEqualTo(singles.get(i / 2).text());
            assertThat(finish[i]).isEqualTo(singles.get(i / 2).finish());
        }
        assertThat(usage).isNotNull();
        assertThat(usage.get("prompt_tokens").asLong()).isEqualTo(singles.get(0).prompt() + singles.get(1).prompt());
        assertThat(usage.get("completion_tokens").asLong())
                .isEqualTo(2 * (singles.get(0).completion() + singles.get(1).completion()));
        assertLedger(requestId(r), usage);
    }

    @Test
    void tokenIdArraysOfArraysWork() {
        String key = memberKey(createTeam(Map.of()));
        Tokenizer tok = pool.get("stories260K").model().tokenizer();
        int[] a = tok.encode(A, tok.addBosByDefault(), true);
        int[] b = tok.encode(B, tok.addBosByDefault(), true);
        List<Single> singles = List.of(single(key, A), single(key, B));
        HttpResponse<String> r = post(key, "/v1/completions", toJson(body(List.of(a, b), 1, Map.of())));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = json(r);
        assertThat(j.get("choices")).hasSize(2);
        for (int i = 0; i < 2; i++) {
            assertThat(j.get("choices").get(i).get("index").asInt()).isEqualTo(i);
            assertThat(j.get("choices").get(i).get("text").asText()).isEqualTo(singles.get(i).text());
        }
        assertThat(j.get("usage").get("prompt_tokens").asLong()).isEqualTo(a.length + b.length);
        assertLedger(requestId(r), j.get("usage"));
        // A flat token-id array is still one prompt.
        HttpResponse<String> flat = post(key, "/v1/completions", toJson(body(a, 1, Map.of())));
        assertThat(json(flat).get("choices")).hasSize(1);
        assertThat(json(flat).get("choices").get(0).get("text").asText()).isEqualTo(singles.get(0).text());
    }

    private static JsonNode assertInvalid(HttpResponse<String> r, String param, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode e = json(r).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("param").asText()).isEqualTo(param);
        assertThat(e.has("code")).isTrue();
        if (code != null) assertThat(e.get("code").asText()).isEqualTo(code);
        return e;
    }

    @Test
    void invalidBatchesAre400() {
        String key = memberKey(createTeam(Map.of()));
        // Refused while parsing, before the model is resolved: like other malformed requests, no usage record.
        HttpResponse<String> empty = post(key, "/v1/completions", toJson(body(List.of(), 1, Map.of())));
        assertInvalid(empty, "prompt", null);
        HttpResponse<String> emptyElement = post(key, "/v1/completions", toJson(body(List.of(A, ""), 1, Map.of())));
        assertInvalid(emptyElement, "prompt", null);
        HttpResponse<String> emptyIds = post(key, "/v1/completions", toJson(body(List.of(List.of(1, 2), List.of()), 1, Map.of())));
        assertInvalid(emptyIds, "prompt", null);
        List<String> nine = java.util.Collections.nCopies(9, A);
        HttpResponse<String> tooMany = post(key, "/v1/completions", toJson(body(nine, 16, Map.of())));
        assertThat(assertInvalid(tooMany, "prompt", null).get("message").asText()).contains("128");

        // Each prompt is checked on its own against the context, after model resolution: a rejected record.
        String longPrompt = "once upon a time ".repeat(1500);
        HttpResponse<String> tooLong = post(key, "/v1/completions",
                toJson(body(List.of(A, longPrompt), 1, Map.of("max_tokens", 1))));
        JsonNode e = assertInvalid(tooLong, "prompt", "context_length_exceeded");
        assertThat(e.get("message").asText()).contains("2048").contains("at index 1");
        Map<String, Object> row = awaitUsage(requestId(tooLong));
        assertThat(row.get("status")).isEqualTo("rejected");
        assertThat(((Number) row.get("http_status")).intValue()).isEqualTo(400);
        assertThat(row.get("error_code")).isEqualTo("context_length_exceeded");
        assertThat(((Number) row.get("prompt_tokens")).intValue()).isZero();
        for (HttpResponse<String> r : List.of(empty, emptyElement, emptyIds, tooMany)) {
            assertThat(jdbc.queryForList("SELECT 1 FROM usage_records WHERE request_id = ?", requestId(r))).isEmpty();
        }

        // Exactly at the cap is fine: 8 prompts × n=16 = 128 choices.
        HttpResponse<String> atCap = post(key, "/v1/completions",
                toJson(body(java.util.Collections.nCopies(8, A), 16, Map.of("max_tokens", 1))));
        assertThat(atCap.statusCode()).as(atCap.body()).isEqualTo(200);
        assertThat(json(atCap).get("choices")).hasSize(128);
        assertThat(json(atCap).get("usage").get("completion_tokens").asInt()).isEqualTo(128);
    }
}
