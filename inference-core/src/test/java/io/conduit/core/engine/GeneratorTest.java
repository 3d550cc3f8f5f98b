package io.conduit.core.engine;

import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.sampling.InvalidSamplingParamsException;
import io.conduit.core.sampling.SampledToken;
import io.conduit.core.sampling.SamplingParams;
import io.conduit.core.sampling.TopLogprob;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GeneratorTest {
    static LoadedModel model;
    static Generator generator;
    static final int[] BOS = {1};

    @BeforeAll
    static void load() {
        model = ModelLoader.load(TestModels.stories260k());
        generator = new Generator(model);
    }

    @AfterAll
    static void close() {
        assertThat(generator.kvCache().pool().whole()).as("no KV block leaked by any test").isTrue();
        model.close();
    }

    private static SamplingParams.Builder greedy(int maxTokens) {
        return SamplingParams.builder().temperature(0).maxTokens(maxTokens);
    }

    @Test
    void seededSamplingIsReproducibleAndSeedsDiffer() {
        SamplingParams p = SamplingParams.builder().temperature(1.0).topP(0.95).seed(1234L).maxTokens(40).ignoreEos(true).build();
        int[] first = generator.generate(BOS, p).tokenIds();
        int[] again = generator.generate(BOS, p).tokenIds();
        int[] other = generator.generate(BOS, p.toBuilder().seed(99L).build()).tokenIds();
        assertThat(again).containsExactly(first);
        assertThat(other).isNotEqualTo(first);
    }

    @Test
    void maxTokensEndsWithLength() {
        GenerationResult r = generator.generate(BOS, greedy(5).build());
        assertThat(r.tokenIds()).hasSize(5);
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.text()).isEqualTo(" Once upon a time,");
    }

    @Test
    void stopStringCutsTheTextAndStops() {
        GenerationResult r = generator.generate(BOS, greedy(100).stop("little").build());
        assertThat(r.text()).isEqualTo(" Once upon a time, there was a ");
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        // Generation stopped at the token that completed the stop string, not at max_tokens.
        assertThat(r.tokenIds().length).isLessThan(15);
    }

    @Test
    void stopTokenIdEndsGenerationAndIsReported() {
        int[] full = generator.generate(BOS, greedy(20).build()).tokenIds();
        int stopAt = full[6];
        int firstIndex = IntStream.range(0, full.length).filter(i -> full[i] == stopAt).findFirst().orElseThrow();
        GenerationResult r = generator.generate(BOS, greedy(20).stopTokenIds(List.of(stopAt)).build());
        assertThat(r.tokenIds()).containsExactly(Arrays.copyOf(full, firstIndex + 1));
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void streamedDeltasAddUpToTheText() {
        StringBuilder streamed = new StringBuilder();
        List<Integer> ids = new ArrayList<>();
        GenerationResult r = generator.generate(BOS, greedy(60).stop("park").build(), (t, delta) -> {
            ids.add(t.tokenId());
            streamed.append(delta);
        });
        assertThat(streamed.toString()).isEqualTo(r.text());
        assertThat(ids).containsExactly(Arrays.stream(r.tokenIds()).boxed().toArray(Integer[]::new));
    }

    @Test
    void logprobsDescribeTheChosenToken() {
        GenerationResult r = generator.generate(BOS, greedy(8).logprobs(3).build());
        assertThat(r.logprobs()).hasSize(8);
        for (SampledToken t : r.logprobs()) {
            assertThat(t.topLogprobs()).hasSize(3);
            List<TopLogprob> top = t.topLogprobs();
            // Greedy picks the most likely token, so it heads the top list with the same logprob.
            assertThat(top.get(0).tokenId()).isEqualTo(t.tokenId());
            assertThat(top.get(0).logprob()).isEqualTo(t.logprob());
            assertThat(top.get(0).logprob()).isGreaterThanOrEqualTo(top.get(1).logprob());
            assertThat(t.logprob()).isLessThanOrEqualTo(0f);
        }
    }

    @Test
    void generationStopsWhenTheContextIsFull() {
        try (LoadedModel hf = ModelLoader.load(TestModels.tinyStoriesHf())) {
            int ctx = hf.config().contextLength();
            int[] prompt = new int[ctx - 3];
            Arrays.fill(prompt, 100);
            Generator g = new Generator(hf);
            GenerationResult r = g.generate(prompt, greedy(50).ignoreEos(true).build());
            assertThat(r.tokenIds()).hasSize(3);
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(g.kvCache().pool().whole()).isTrue();
        }
    }

    @Test
    void badPromptsAreRejectedClearly() {
        int ctx = model.config().contextLength();
        assertThatThrownBy(() -> generator.generate(new int[ctx], greedy(1).build()))
                .isInstanceOf(PromptTooLongException.class)
                .hasMessageContaining("prompt has " + ctx + " tokens").hasMessageContaining("context window is " + ctx);
        assertThatThrownBy(() -> generator.generate(new int[0], greedy(1).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prompt is empty");
        assertThatThrownBy(() -> generator.generate(new int[]{1, 512}, greedy(1).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token id 512 is outside the vocabulary");
        assertThatThrownBy(() -> generator.generate(new int[]{1, -3}, greedy(1).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token id -3");
    }

    @Test
    void invalidSamplingParametersNameTheParameter() {
        assertThatThrownBy(() -> SamplingParams.builder().temperature(-1).build())
                .isInstanceOf(InvalidSamplingParamsException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> SamplingParams.builder().topP(0).build())
                .isInstanceOf(InvalidSamplingParamsException.class).hasMessageContaining("top_p");
        assertThatThrownBy(() -> SamplingParams.builder().maxTokens(0).build())
                .isInstanceOf(InvalidSamplingParamsException.class).hasMessageContaining("max_tokens");
    }
}
