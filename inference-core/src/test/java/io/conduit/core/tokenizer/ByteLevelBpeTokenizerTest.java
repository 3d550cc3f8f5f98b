package io.conduit.core.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Byte-level BPE ("gpt2" GGUF) on a synthetic vocabulary, and the pre-tokenizer regexes on tricky input. */
class ByteLevelBpeTokenizerTest {

    // ids 0..255: the GPT-2 byte characters of bytes 0..255; then:
    static final int G_T = 256, HE = 257, G_THE = 258, E_G = 259, ONE_TWO = 260, ABC = 261, EOT = 262, IM_START = 263;

    static Map<String, Object> metadata(String pre) {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(ByteLevel.charOf(b)));
        }
        tokens.addAll(List.of("Ġt", "he", "Ġthe", "eĠ", "12", "abc", "<|endoftext|>", "<|im_start|>"));
        int[] types = new int[tokens.size()];
        java.util.Arrays.fill(types, 1);
        types[EOT] = 3;
        types[IM_START] = 3;
        Map<String, Object> md = new HashMap<>();
        md.put("tokenizer.ggml.model", "gpt2");
        md.put("tokenizer.ggml.pre", pre);
        md.put("tokenizer.ggml.tokens", tokens);
        md.put("tokenizer.ggml.token_type", types);
        // "abc" has no merge path: only ignore_merges (llama-bpe) can produce it.
        md.put("tokenizer.ggml.merges", List.of("Ġ t", "h e", "Ġt he", "e Ġ", "1 2"));
        md.put("tokenizer.ggml.bos_token_id", (long) EOT);
        md.put("tokenizer.ggml.eos_token_id", (long) EOT);
        return md;
    }

    static Tokenizer tok(String pre) {
        return Tokenizers.fromGgufMetadata(metadata(pre));
    }

    @Test
    void mergesByRankWithinPreTokensOnly() {
        Tokenizer t = tok("gpt-2");
        // "the the" -> pre-tokens "the", " the".
        // "the": t h e -> (h e) rank 1 -> [t, he]; "t he" is no merge.
        // " the": Ġ t h e -> (Ġ t) rank 0 -> [Ġt, h, e] -> (h e) -> [Ġt, he] -> (Ġt he) rank 2 -> [Ġthe].
        // The merge "e Ġ" never applies: 'e' and ' ' are in different pre-tokens.
        assertThat(t.encode("the the")).containsExactly('t', HE, G_THE);
        assertThat(t.decode(new int[]{'t', HE, G_THE})).isEqualTo("the the");
        assertThat(t.addBosByDefault()).isFalse();
    }

    @Test
    void preTokenizerChoiceChangesDigits() {
        // GPT-2 keeps "12" in one pre-token so the "1 2" merge applies; Qwen2 isolates every digit.
        assertThat(tok("gpt-2").encode("12")).containsExactly(ONE_TWO);
        assertThat(tok("qwen2").encode("12")).containsExactly('1', '2');
        assertThat(tok("llama-bpe").encode("12")).containsExactly(ONE_TWO);
    }

    @Test
    void llama3IgnoresMergesForWholeVocabularyWords() {
        assertThat(tok("gpt-2").encode("abc")).containsExactly('a', 'b', 'c');
        assertThat(tok("llama-bpe").encode("abc")).containsExactly(ABC);
    }

    @Test
    void specialTokensOnlyWhenParsingSpecial() {
        Tokenizer t = tok("qwen2");
        assertThat(t.encode("<|im_start|>he", false, true)).containsExactly(IM_START, HE);
        int[] plain = t.encode("<|im_start|>he", false, false);
        assertThat(plain).doesNotContain(IM_START).startsWith('<', '|');
        assertThat(t.decode(plain)).isEqualTo("<|im_start|>he");
        assertThat(t.decode(new int[]{IM_START, HE, EOT}, true)).isEqualTo("he");
        assertThat(t.decode(new int[]{IM_START, HE, EOT}, false)).isEqualTo("<|im_start|>he<|endoftext|>");
        assertThat(t.stopTokenIds()).containsExactly(EOT);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "llama-bpe", "qwen2"})
    void roundTripsAnyText(String pre) {
        Tokenizer t = tok(pre);
        for (String s : List.of("", " ", "Hello world", "héllo wörld", "日本語 中文", "emoji 😀👍🏽!", "  lead and trail  ",
                "tabs\tand\nnew\r\nlines\n\n", "I'll've 12345 ok?!", "\u00A0nbsp\u3000ideographic")) {
            int[] ids = t.encode(s);
            assertThat(t.decode(ids)).isEqualTo(s);
            assertThat(RealModels.streamAll(t, ids, false)).isEqualTo(s);
        }
    }

    @Test
    void streamingHoldsBackBytesOfSplitCharacter() {
        Tokenizer t = tok("gpt-2");
        int[] ids = t.encode("中"); // E4 B8 AD: three byte tokens, no merges
        assertThat(ids).hasSize(3);
        StreamingDecoder d = t.streamingDecoder(false);
        assertThat(d.feed(ids[0])).isEmpty();
        assertThat(d.feed(ids[1])).isEmpty();
        assertThat(d.feed(ids[2])).isEqualTo("中");
    }

    @Test
    void ggufPathMatchesHuggingFaceOnTheSameVocabulary() throws Exception {
        // Rebuild the synthetic byte-level tokenizer.json as GGUF metadata ("gpt2", pre "llama-bpe" = its Split
        // regex + ignore_merges) and compare with the HF tokenizers reference encodings of that file.
        var om = new com.fasterxml.jackson.databind.ObjectMapper();
        var tj = om.readTree(getClass().getResource("/tokenizer/bytelevel/tokenizer.json"));
        String[] tokens = new String[263];
        tj.path("model").path("vocab").properties().forEach(e -> tokens[e.getValue().asInt()] = e.getKey());
        int[] types = new int[263];
        java.util.Arrays.fill(types, 1);
        for (var a : tj.path("added_tokens")) {
            tokens[a.path("id").asInt()] = a.path("content").asText();
            types[a.path("id").asInt()] = a.path("special").asBoolean() ? 3 : 4;
        }
        List<String> merges = new ArrayList<>();
        tj.path("model").path("merges").forEach(m -> merges.add(m.get(0).asText() + " " + m.get(1).asText()));
        Map<String, Object> md = new HashMap<>();
        md.put("tokenizer.ggml.model", "gpt2");
        md.put("tokenizer.ggml.pre", "llama-bpe");
        md.put("tokenizer.ggml.tokens", List.of(tokens));
        md.put("tokenizer.ggml.token_type", types);
        md.put("tokenizer.ggml.merges", merges);
        Tokenizer t = Tokenizers.fromGgufMetadata(md);
        int checked = 0;
        for (var c : om.readTree(getClass().getResource("/tokenizer/hf-reference-encodings.json")).path("cases").path("bytelevel")) {
            String text = c.get("text").asText();
            int[] plain = io.conduit.core.testing.TestModels.ints(c.get("plain"));
            assertThat(t.encode(text, false, false)).as(text).containsExactly(plain);
            if (!text.contains(" <|im_end|>")) { // HF's lstrip option has no GGUF equivalent
                assertThat(t.encode(text, false, true)).as(text)
                        .containsExactly(io.conduit.core.testing.TestModels.ints(c.get("parse_special")));
            }
            assertThat(t.decode(plain)).isEqualTo(text);
            checked++;
        }
        assertThat(checked).isGreaterThan(20);
    }

    // ------------------------------------------------------------------ pre-tokenizer regexes

    private static List<String> split(String regex, String text) {
        return PreTokenizerPatterns.splitIsolated(PreTokenizerPatterns.compile(regex), text);
    }

    private static final String TRICKY = "I'll go  there's 12345 ok!!\n\n  x";

    @Test
    void gpt2Pattern() {
        assertThat(split(PreTokenizerPatterns.GPT2, TRICKY)).containsExactly(
                "I", "'ll", " go", " ", " there", "'s", " 12345", " ok", "!!", "\n\n ", " x");
        // contractions are case-sensitive in GPT-2
        assertThat(split(PreTokenizerPatterns.GPT2, "I'LL")).containsExactly("I", "'", "LL");
        assertThat(split(PreTokenizerPatterns.GPT2, "héllo wörld 日本")).containsExactly("héllo", " wörld", " 日本");
        assertThat(split(PreTokenizerPatterns.GPT2, "a\u00A0 b")).containsExactly("a", "\u00A0", " b");
    }

    @Test
    void llama3Pattern() {
        assertThat(split(PreTokenizerPatterns.LLAMA3, TRICKY)).containsExactly(
                "I", "'ll", " go", " ", " there", "'s", " ", "123", "45", " ok", "!!\n\n", " ", " x");
        // (?i:...) contractions
        assertThat(split(PreTokenizerPatterns.LLAMA3, "I'LL DON'T")).containsExactly("I", "'LL", " DON", "'T");
        // a single non-letter may lead a word; newlines are not taken along
        assertThat(split(PreTokenizerPatterns.LLAMA3, "(hello)\n\nworld")).containsExactly("(hello", ")\n\n", "world");
        assertThat(split(PreTokenizerPatterns.LLAMA3, "a \n  b")).containsExactly("a", " \n", " ", " b");
    }

    @Test
    void qwen2Pattern() {
        assertThat(split(PreTokenizerPatterns.QWEN2, TRICKY)).containsExactly(
                "I", "'ll", " go", " ", " there", "'s", " ", "1", "2", "3", "4", "5", " ok", "!!\n\n", " ", " x");
        assertThat(split(PreTokenizerPatterns.QWEN2, "x=3.14")).containsExactly("x", "=", "3", ".", "1", "4");
    }

    @Test
    void ggufPreNamesSelectPatterns() {
        assertThat(PreTokenizerPatterns.forGgufPre(null).pattern()).isEqualTo(PreTokenizerPatterns.GPT2);
        assertThat(PreTokenizerPatterns.forGgufPre("default").pattern()).isEqualTo(PreTokenizerPatterns.GPT2);
        assertThat(PreTokenizerPatterns.forGgufPre("llama3").pattern()).isEqualTo(PreTokenizerPatterns.LLAMA3);
        assertThat(PreTokenizerPatterns.forGgufPre("qwen2").pattern()).isEqualTo(PreTokenizerPatterns.QWEN2);
        assertThat(PreTokenizerPatterns.forGgufPre("qwen2").flags() & Pattern.UNICODE_CHARACTER_CLASS).isNotZero();
    }
}
