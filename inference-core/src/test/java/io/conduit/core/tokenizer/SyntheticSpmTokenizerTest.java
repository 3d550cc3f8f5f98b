package io.conduit.core.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Hand-checked SentencePiece merges on a tiny vocabulary built in the test. */
class SyntheticSpmTokenizerTest {

    // ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then the pieces below
    static final int SPACE = 259, A = 260, B = 261, C = 262, SP_A = 263, AB = 264, BC = 265, AA = 266, SP_AB = 267,
            USER = 268;

    static Map<String, Object> metadata(boolean addSpacePrefix, boolean withByteTypes) {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
        List<Integer> types = new ArrayList<>(List.of(2, 3, 3));
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            scores.add(0f);
            types.add(withByteTypes ? 6 : 1);
        }
        Object[][] pieces = {{"▁", -10f}, {"a", -10f}, {"b", -10f}, {"c", -10f}, {"▁a", -1f}, {"ab", -2f},
                {"bc", -0.5f}, {"aa", -1f}, {"▁ab", -0.1f}, {"<tool>", 0f}};
        for (Object[] p : pieces) {
            tokens.add((String) p[0]);
            scores.add((Float) p[1]);
            types.add(p[0].equals("<tool>") ? 4 : 1);
        }
        float[] sc = new float[scores.size()];
        int[] ty = new int[types.size()];
        for (int i = 0; i < sc.length; i++) {
            sc[i] = scores.get(i);
            ty[i] = types.get(i);
        }
        Map<String, Object> md = new HashMap<>();
        md.put("tokenizer.ggml.model", "llama");
        md.put("tokenizer.ggml.tokens", tokens);
        md.put("tokenizer.ggml.scores", sc);
        md.put("tokenizer.ggml.token_type", ty);
        md.put("tokenizer.ggml.bos_token_id", 1L);
        md.put("tokenizer.ggml.eos_token_id", 2L);
        md.put("tokenizer.ggml.unknown_token_id", 0L);
        md.put("tokenizer.ggml.padding_token_id", 4294967295L);
        md.put("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        return md;
    }

    @Test
    void mergesHighestScoringPairFirstNotLongestMatch() {
        Tokenizer t = Tokenizers.fromGgufMetadata(metadata(true, true));
        // "▁abc": pairs ▁a(-1) ab(-2) bc(-0.5) -> bc wins; then ▁a(-1) -> [▁a, bc]; "▁abc" is no token.
        // A greedy longest-prefix matcher would have produced [▁ab, c].
        assertThat(t.encode("abc")).containsExactly(SP_A, BC);
    }

    @Test
    void scoreTiesMergeLeftmostPairFirst() {
        Tokenizer t = Tokenizers.fromGgufMetadata(metadata(false, true));
        // no space prefix: "aaa" has two aa(-1) pairs; the leftmost merges first -> [aa, a]
        assertThat(t.encode("aaa")).containsExactly(AA, A);
        assertThat(t.decode(new int[]{AA, A})).isEqualTo("aaa");
    }

    @Test
    void byteFallbackAndTokensFromTextWhenTypesMissing() {
        Tokenizer typed = Tokenizers.fromGgufMetadata(metadata(false, true));
        // 'x' is not a piece: byte token <0x78> = 3 + 0x78
        assertThat(typed.encode("ax")).containsExactly(A, 3 + 0x78);
        // Same when byte tokens are only recognisable by their <0xXX> text (no token_type 6).
        Tokenizer untyped = Tokenizers.fromGgufMetadata(metadata(false, false));
        assertThat(untyped.encode("ax")).containsExactly(A, 3 + 0x78);
        assertThat(untyped.decode(untyped.encode("é x"))).isEqualTo("é x");
    }

    @Test
    void userDefinedTokensAreAlwaysMatchedControlOnlyWhenParsingSpecial() {
        Tokenizer t = Tokenizers.fromGgufMetadata(metadata(true, true));
        assertThat(t.encode("a<tool>", false, false)).containsExactly(SP_A, USER);
        assertThat(t.encode("a</s>", false, false)).doesNotContain(2);
        assertThat(t.encode("a</s>", false, true)).containsExactly(SP_A, 2);
        assertThat(t.isSpecial(USER)).isFalse();
        assertThat(t.decode(new int[]{SP_A, USER, 2}, true)).isEqualTo(" a<tool>");
    }

    @Test
    void noneIdsBecomeMinusOne() {
        Map<String, Object> md = metadata(true, true);
        md.remove("tokenizer.ggml.eos_token_id");
        Tokenizer t = Tokenizers.fromGgufMetadata(md);
        assertThat(t.eosId()).isEqualTo(-1);
        assertThat(t.stopTokenIds()).containsExactly(2); // "</s>" is a known end-of-turn control token
        md.put("tokenizer.ggml.eot_token_id", (long) AB);
        assertThat(Tokenizers.fromGgufMetadata(md).stopTokenIds()).contains(AB, 2);
    }
}
