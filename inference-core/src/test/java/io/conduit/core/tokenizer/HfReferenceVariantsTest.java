package io.conduit.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Differential test against Hugging Face tokenizers: tokenizer.json variants exercising the supported
 * normalizers, pre-tokenizers (ByteLevel with prefix space, Metaspace "always" without split, every Split
 * behaviour) and decoders, with encodings/decodings recorded by {@code tokenizer/variants/generate_reference.py}.
 */
class HfReferenceVariantsTest {

    @ParameterizedTest
    @ValueSource(strings = {"gpt2style", "metaspace_always", "split_behaviors", "normalizers"})
    void matchesReference(String variant) throws Exception {
        Tokenizer t = Tokenizers.fromTokenizerJson(
                Path.of(getClass().getResource("/tokenizer/variants/" + variant + ".json").toURI()));
        JsonNode cases = new ObjectMapper().readTree(getClass().getResource("/tokenizer/variants/reference.json"))
                .path("cases").path(variant);
        assertThat(cases.size()).isGreaterThan(10);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] parsed = TestModels.ints(c.get("parse_special"));
            int[] plain = TestModels.ints(c.get("plain"));
            assertThat(t.encode(text, false, true)).as("encode parseSpecial %s", text).containsExactly(parsed);
            assertThat(t.encode(text, false, false)).as("encode plain %s", text).containsExactly(plain);
            assertThat(t.decode(plain, false)).as("decode plain %s", text).isEqualTo(c.get("decode_plain").asText());
            assertThat(t.decode(parsed, false)).as("decode parsed %s", text).isEqualTo(c.get("decode_parsed").asText());
            assertThat(t.decode(parsed, true)).as("decode parsed skip %s", text).isEqualTo(c.get("decode_parsed_skip").asText());
            assertThat(RealModels.streamAll(t, parsed, true)).isEqualTo(t.decode(parsed, true));
        }
    }
}
