package io.conduit.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.sampling.SamplingParams;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Greedy generation equals the independent golden outputs token for token, and their text. */
class GeneratorGoldenTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "stories260K.gguf, stories260K.golden.json",
            "tinystories-656k-gguf/TinyStories-656K-Q8_0.gguf, tinystories-656k-q8_0.golden.json",
            "tinystories-656k-hf, tinystories-656k-hf.golden.json"})
    void greedyMatchesGolden(String model, String goldenFile) {
        JsonNode golden = TestModels.golden(goldenFile);
        int[] prompt = TestModels.ints(golden.get("prompt_ids"));
        int[] expected = TestModels.ints(golden.get("greedy_ids"));
        Path path = TestModels.dir().resolve(model);
        try (LoadedModel m = ModelLoader.load(path)) {
            Generator g = new Generator(m);
            GenerationResult r = g.generate(prompt, SamplingParams.builder()
                    .temperature(0).maxTokens(expected.length).ignoreEos(true).build());
            assertThat(r.tokenIds()).containsExactly(expected);
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
            if (golden.has("greedy_text")) {
                assertThat(r.text()).isEqualTo(golden.get("greedy_text").asText());
            }
            assertThat(g.kvCache().pool().whole()).isTrue();
        }
    }
}
