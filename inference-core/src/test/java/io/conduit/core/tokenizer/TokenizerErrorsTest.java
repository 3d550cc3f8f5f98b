package io.conduit.core.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Missing, corrupt and unsupported tokenizer data must fail with a message that says what is wrong. */
class TokenizerErrorsTest {

    @TempDir
    Path dir;

    @Test
    void missingTokensArray() {
        Map<String, Object> md = SyntheticSpmTokenizerTest.metadata(true, true);
        md.remove("tokenizer.ggml.tokens");
        assertThatThrownBy(() -> Tokenizers.fromGgufMetadata(md))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.tokens");
    }

    @Test
    void missingModelKey() {
        Map<String, Object> md = SyntheticSpmTokenizerTest.metadata(true, true);
        md.remove("tokenizer.ggml.model");
        assertThatThrownBy(() -> Tokenizers.fromGgufMetadata(md))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.model");
    }

    @Test
    void mismatchedScoresLength() {
        Map<String, Object> md = SyntheticSpmTokenizerTest.metadata(true, true);
        md.put("tokenizer.ggml.scores", new float[10]);
        assertThatThrownBy(() -> Tokenizers.fromGgufMetadata(md))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.ggml.scores has 10 entries")
                .hasMessageContaining("269");
    }

    @Test
    void mismatchedTokenTypeLength() {
        Map<String, Object> md = SyntheticSpmTokenizerTest.metadata(true, true);
        md.put("tokenizer.ggml.token_type", new int[3]);
        assertThatThrownBy(() -> Tokenizers.fromGgufMetadata(md))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.token_type has 3 entries");
    }

    @Test
    void wrongValueType() {
        Map<String, Object> md = SyntheticSpmTokenizerTest.metadata(true, true);
        md.put("tokenizer.ggml.scores", new double[269]);
        assertThatThrownBy(() -> Tokenizers.fromGgufMetadata(md))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.scores")
                .hasMessageContaining("double[]");
    }

    @Test
    void unknownTokenizerModel() {
        Map<String, Object> md = SyntheticSpmTokenizerTest.metadata(true, true);
        md.put("tokenizer.ggml.model", "rwkv");
        assertThatThrownBy(() -> Tokenizers.fromGgufMetadata(md))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("unsupported tokenizer.ggml.model 'rwkv'");
    }

    @Test
    void gpt2WithoutMergesOrWithUnknownPreTokenizer() {
        Map<String, Object> md = ByteLevelBpeTokenizerTest.metadata("gpt-2");
        md.remove("tokenizer.ggml.merges");
        assertThatThrownBy(() -> Tokenizers.fromGgufMetadata(md))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.merges");
        Map<String, Object> md2 = ByteLevelBpeTokenizerTest.metadata("jais");
        assertThatThrownBy(() -> Tokenizers.fromGgufMetadata(md2))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.pre 'jais'");
    }

    @Test
    void missingTokenizerJson() {
        assertThatThrownBy(() -> Tokenizers.fromTokenizerJson(dir.resolve("nope.json")))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("not found");
    }

    @Test
    void corruptTokenizerJson() throws IOException {
        Path p = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, ");
        assertThatThrownBy(() -> Tokenizers.fromTokenizerJson(p))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("cannot read");
    }

    @Test
    void unsupportedTokenizerJsonComponentsAreNamed() throws IOException {
        String base = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}";
        for (var c : List.of(
                List.of(",\"normalizer\": {\"type\": \"BertNormalizer\"}", "normalizer type 'BertNormalizer'"),
                List.of(",\"pre_tokenizer\": {\"type\": \"Whitespace\"}", "pre_tokenizer type 'Whitespace'"),
                List.of(",\"decoder\": {\"type\": \"WordPiece\"}", "decoder type 'WordPiece'"),
                List.of(",\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"CTC\"}]}", "decoder type 'CTC'"))) {
            Path p = Files.writeString(dir.resolve("tokenizer.json"), base + c.get(0) + "}");
            assertThatThrownBy(() -> Tokenizers.fromTokenizerJson(p))
                    .isInstanceOf(TokenizerException.class).hasMessageContaining(c.get(1));
        }
        Path p = Files.writeString(dir.resolve("tokenizer.json"),
                "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0.0]]}}");
        assertThatThrownBy(() -> Tokenizers.fromTokenizerJson(p))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("model type 'Unigram'");
        Path q = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a c\"]}}");
        assertThatThrownBy(() -> Tokenizers.fromTokenizerJson(q))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("merge #0 'a c'");
    }
}
