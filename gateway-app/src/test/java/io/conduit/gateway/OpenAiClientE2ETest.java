package io.conduit.gateway;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.PermissionDeniedException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.models.Model;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The official OpenAI Java client against the running gateway; usage must match the ledger row for row. */
class OpenAiClientE2ETest extends GatewayTestBase {

    private OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder().apiKey(key).baseUrl(base() + "/v1").maxRetries(0).build();
    }

    private void assertLedgerMatches(String requestId, CompletionUsage usage, String status, String team) {
        Map<String, Object> row = awaitUsage(requestId);
        assertThat(row.get("status")).isEqualTo(status);
        assertThat(row.get("team_id")).isEqualTo(team);
        assertThat(((Number) row.get("prompt_tokens")).longValue()).isEqualTo(usage.promptTokens());
        assertThat(((Number) row.get("completion_tokens")).longValue()).isEqualTo(usage.completionTokens());
        assertThat(((Number) row.get("cached_tokens")).longValue())
                .isEqualTo(usage.promptTokensDetails().flatMap(CompletionUsage.PromptTokensDetails::cachedTokens).orElseThrow());
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
    }

    @Test
    void chatCompletionNonStreamingMatchesLedger() {
        String team = createTeam(Map.of());
        OpenAIClient c = client(memberKey(team));
        ChatCompletion r = c.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("stories260K").addUserMessage("Tell me a story").maxCompletionTokens(12).temperature(0.0)
                .user("alice").build());
        assertThat(r.id()).startsWith("chatcmpl-");
        assertThat(r.choices()).hasSize(1);
        assertThat(r.choices().getFirst().message().content()).isPresent().get().asString().isNotEmpty();
        assertThat(r.choices().getFirst().finishReason().asString()).isIn("length", "stop");
        CompletionUsage u = r.usage().orElseThrow();
        assertThat(u.completionTokens()).isBetween(1L, 12L);
        assertLedgerMatches(r.id().substring("chatcmpl-".length()), u, "ok", team);
        assertThat(awaitUsage(r.id().substring("chatcmpl-".length())).get("end_user")).isEqualTo("alice");

        // Greedy decoding is deterministic: the same request gives the same text.
        ChatCompletion again = c.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("stories260K").addUserMessage("Tell me a story").maxCompletionTokens(12).temperature(0.0).build());
        assertThat(again.choices().getFirst().message().content()).isEqualTo(r.choices().getFirst().message().content());
    }

    @Test
    void chatCompletionStreamingWithUsageMatchesLedger() {
        String team = createTeam(Map.of());
        OpenAIClient c = client(memberKey(team));
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model("stories260K").addUserMessage("Once upon a time").maxCompletionTokens(10).temperature(0.0)
                .n(2).streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        StringBuilder[] text = {new StringBuilder(), new StringBuilder()};
        List<String> finish = new ArrayList<>();
        CompletionUsage usage = null;
        String id = null;
        int usageChunks = 0;
        try (StreamResponse<ChatCompletionChunk> s = c.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) s.stream()::iterator) {
                id = chunk.id();
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().content().ifPresent(t -> text[(int) ch.index()].append(t));
                    ch.finishReason().ifPresent(f -> finish.add(f.asString()));
                }
                if (chunk.usage().isPresent()) {
                    usage = chunk.usage().get();
                    usageChunks++;
                    assertThat(chunk.choices()).isEmpty();
                }
            }
        }
        assertThat(usageChunks).isEqualTo(1);
        assertThat(finish).hasSize(2);
        assertThat(text[0].toString()).isNotEmpty();
        // Both choices are greedy, so they agree; the non-streamed answer is the same text too.
        assertThat(text[1].toString()).isEqualTo(text[0].toString());
        ChatCompletion plain = c.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("stories260K").addUserMessage("Once upon a time").maxCompletionTokens(10).temperature(0.0).build());
        assertThat(plain.choices().getFirst().message().content()).contains(text[0].toString());
        assertThat(usage).isNotNull();
        assertThat(usage.completionTokens()).isEqualTo(2 * plain.usage().orElseThrow().completionTokens());
        assertLedgerMatches(id.substring("chatcmpl-".length()), usage, "ok", team);
    }

    @Test
    void repeatedPromptsAreServedFromTheTeamsOwnPrefixCacheOnly() {
        String prompt = "The little fox ran to the river and saw a big fish. The fish said hello to the fox and "
                + "the fox said hello back. They played all day by the water until the sun went down.";
        String teamA = createTeam(Map.of());
        String teamB = createTeam(Map.of());
        OpenAIClient a = client(memberKey(teamA));
        CompletionCreateParams params = CompletionCreateParams.builder().model("stories260K")
                .prompt(prompt).maxTokens(3).temperature(0.0).build();
        Completion first = a.completions().create(params);
        Completion second = a.completions().create(params);
        Completion otherTeam = client(memberKey(teamB)).completions().create(params);
        long promptTokens = second.usage().orElseThrow().promptTokens();
        long cachedSecond = cached(second);
        // Whole 16-token blocks of the prompt, never its last token (its logits must be computed).
        assertThat(cachedSecond).isEqualTo((promptTokens - 1) / 16 * 16).isPositive();
        assertThat(cached(otherTeam)).as("another team never hits team A's cached prompt").isZero();
        assertThat(second.choices().getFirst().text()).isEqualTo(first.choices().getFirst().text());
        assertLedgerMatches(second.id().substring("cmpl-".length()), second.usage().orElseThrow(), "ok", teamA);
        assertLedgerMatches(otherTeam.id().substring("cmpl-".length()), otherTeam.usage().orElseThrow(), "ok", teamB);
    }

    private static long cached(Completion c) {
        return c.usage().orElseThrow().promptTokensDetails()
                .flatMap(CompletionUsage.PromptTokensDetails::cachedTokens).orElseThrow();
    }

    @Test
    void textCompletionWithLogprobsAndSeed() {
        String team = createTeam(Map.of());
        OpenAIClient c = client(memberKey(team));
        CompletionCreateParams p = CompletionCreateParams.builder().model("stories260K").prompt("Once upon a time")
                .maxTokens(8).temperature(0.9).seed(42L).logprobs(2L).build();
        Completion r = c.completions().create(p);
        Completion r2 = c.completions().create(p);
        assertThat(r.choices().getFirst().text()).isNotEmpty().isEqualTo(r2.choices().getFirst().text());
        var lp = r.choices().getFirst().logprobs().orElseThrow();
        assertThat(lp.tokens().orElseThrow()).hasSize((int) r.usage().orElseThrow().completionTokens());
        assertThat(lp.tokenLogprobs().orElseThrow()).allSatisfy(v -> assertThat(v).isLessThanOrEqualTo(0.0));
        assertThat(lp.topLogprobs().orElseThrow().getFirst()._additionalProperties()).hasSize(2);
        assertThat(String.join("", lp.tokens().orElseThrow())).isEqualTo(r.choices().getFirst().text());
        assertLedgerMatches(r.id().substring("cmpl-".length()), r.usage().orElseThrow(), "ok", team);
    }

    @Test
    void stopSequenceEndsGeneration() {
        OpenAIClient c = client(memberKey(createTeam(Map.of())));
        Completion full = c.completions().create(CompletionCreateParams.builder().model("stories260K")
                .prompt("Once upon a time").maxTokens(20).temperature(0.0).build());
        String text = full.choices().getFirst().text();
        String stop = text.substring(text.indexOf("little"), text.indexOf("little") + 6); // ", there was a little girl..."
        Completion stopped = c.completions().create(CompletionCreateParams.builder().model("stories260K")
                .prompt("Once upon a time").maxTokens(20).temperature(0.0).stop(stop).build());
        assertThat(stopped.choices().getFirst().text()).isEqualTo(text.substring(0, text.indexOf(stop)));
        assertThat(stopped.choices().getFirst().finishReason().asString()).isEqualTo("stop");
    }

    @Test
    void modelsListOnlyWhatTheKeyMayUse() {
        String team = createTeam(Map.of());
        List<String> all = client(memberKey(team)).models().list().data().stream().map(Model::id).toList();
        assertThat(all).containsExactlyInAnyOrder("stories260K", "stories260K:demo", "stories-b1");

        String restricted = createKey(ADMIN_KEY, team, Map.of("role", "MEMBER",
                "allowed_models", List.of("stories-b1"))).get("key").asText();
        OpenAIClient rc = client(restricted);
        assertThat(rc.models().list().data().stream().map(Model::id).toList()).containsExactly("stories-b1");
        assertThatThrownBy(() -> rc.completions().create(CompletionCreateParams.builder().model("stories260K")
                .prompt("x").maxTokens(1).build()))
                .isInstanceOfSatisfying(PermissionDeniedException.class,
                        e -> assertThat(e.code()).contains("model_not_allowed"));

        String teamLimited = createTeam(Map.of("allowed_models", List.of("stories260K")));
        assertThat(client(memberKey(teamLimited)).models().list().data().stream().map(Model::id).toList())
                .containsExactly("stories260K");
    }

    @Test
    void clientSeesOpenAiErrors() {
        assertThatThrownBy(() -> client("ck-not-a-real-key-000000000").models().list())
                .isInstanceOf(UnauthorizedException.class);
        OpenAIClient c = client(memberKey(createTeam(Map.of())));
        assertThatThrownBy(() -> c.completions().create(CompletionCreateParams.builder().model("no-such-model")
                .prompt("x").build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.code()).contains("model_not_found");
                    assertThat(e.param()).contains("model");
                });
        assertThatThrownBy(() -> c.completions().create(CompletionCreateParams.builder().model("stories260K")
                .prompt("x").maxTokens(4000).build()))
                .isInstanceOfSatisfying(BadRequestException.class,
                        e -> assertThat(e.code()).isEqualTo(Optional.of("context_length_exceeded")));
    }
}
