package io.conduit.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** tokenizer.json: the real TinyStories-656K tokenizer plus two synthetic ones in test resources. */
class HfTokenizerJsonTest {

    static Tokenizer tiny;
    static JsonNode golden;

    @BeforeAll
    static void load() {
        tiny = RealModels.tinyStoriesHf();
        golden = TestModels.golden("tinystories-656k-hf.golden.json");
    }

    static Tokenizer resource(String dir) {
        try {
            return Tokenizers.fromTokenizerJson(Path.of(HfTokenizerJsonTest.class
                    .getResource("/tokenizer/" + dir + "/tokenizer.json").toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ TinyStories-656K (real)

    @Test
    void tinyStoriesConfig() {
        assertThat(tiny.vocabSize()).isEqualTo(2048);
        assertThat(tiny.bosId()).isEqualTo(1);
        assertThat(tiny.eosId()).isEqualTo(2);
        assertThat(tiny.stopTokenIds()).containsExactly(2);
        assertThat(tiny.addBosByDefault()).isTrue();
        assertThat(tiny.isSpecial(1)).isTrue();
        assertThat(tiny.isSpecial(80)).isFalse();
        assertThat(tiny.tokenText(108)).isEqualTo("▁the▁");
        assertThat(tiny.idOf("<|end_story|>")).isEqualTo(2);
        assertThat(tiny.chatTemplate()).isNull();
    }

    @Test
    void goldenGreedyIdsDecodeToGoldenText() {
        int[] ids = TestModels.ints(golden.get("greedy_ids"));
        String text = golden.get("greedy_text").asText();
        assertThat(tiny.decode(ids)).isEqualTo(text);
        assertThat(RealModels.streamAll(tiny, ids, false)).isEqualTo(text);
        int[] withBos = RealModels.prepend(1, ids);
        assertThat(tiny.decode(withBos, true)).isEqualTo(text);
        assertThat(tiny.decode(withBos, false)).isEqualTo("<|start_story|>" + text);
        assertThat(RealModels.streamAll(tiny, withBos, true)).isEqualTo(text);
    }

    @Test
    void goldenTextEncodesBackToGoldenIds() {
        // The normalizer prepends '▁' and the golden ids continue after BOS without it: encode gives the
        // lone '▁' (80) followed by exactly the golden ids, i.e. the generation is canonically tokenized.
        int[] ids = TestModels.ints(golden.get("greedy_ids"));
        String text = golden.get("greedy_text").asText();
        int[] enc = tiny.encode(text);
        assertThat(enc[0]).isEqualTo(80);
        assertThat(Arrays.copyOfRange(enc, 1, enc.length)).containsExactly(ids);
    }

    @Test
    void handAppliedMerges() {
        // "the cat" -> "▁the▁cat"; merges by rank: 0 (e ▁), 2 (t h), 12 (th e▁), 27 (▁ the▁), 151 (a t), 395 (c at)
        // -> ["▁the▁" 108, "cat" 476]
        assertThat(tiny.encode("the cat")).containsExactly(108, 476);
        // "dog" -> "▁dog": 104 (d o), 523 (do g) -> ["▁" 80, "dog" 604]; "▁ dog" is no merge
        assertThat(tiny.encode("dog")).containsExactly(80, 604);
        assertThat(tiny.encode("dog", true, false)).containsExactly(1, 80, 604);
        assertThat(tiny.encode("")).isEmpty();
    }

    @Test
    void unknownCharactersFuseIntoOneUnk() {
        // No <0xXX> tokens in this vocab despite byte_fallback: unknown chars become <unk>, fused (fuse_unk).
        assertThat(tiny.encode("üü")).containsExactly(80, 0);
        assertThat(tiny.decode(new int[]{80, 0}, true)).isEmpty();
        // Normalized added tokens decode as their normalized content ("▁<unk>"), as in HF tokenizers 0.23.2:
        // " " + " <unk>" -> Strip(1) -> " <unk>"; "<|start_story|>" keeps its space before "dog".
        assertThat(tiny.decode(new int[]{80, 0})).isEqualTo(" <unk>");
        assertThat(tiny.decode(new int[]{1, 80, 604})).isEqualTo("<|start_story|> dog");
        assertThat(tiny.decode(new int[]{147, 1, 80, 604})).isEqualTo("On <|start_story|> dog");
        assertThat(tiny.tokenText(0)).isEqualTo("<unk>");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Once upon a time, there was a dog.", "  two leading spaces", "trailing  ", "a\nb\n\nc",
            "multiple     spaces", "\"Hi!\" she said.", " ", "x"})
    void roundTripsVocabularyText(String s) {
        int[] ids = tiny.encode(s);
        assertThat(tiny.decode(ids)).isEqualTo(s);
        assertThat(tiny.decode(RealModels.prepend(1, ids), true)).isEqualTo(s);
        assertThat(RealModels.streamAll(tiny, ids, false)).isEqualTo(s);
    }

    @Test
    void specialTokensParsedOnlyWhenAsked() {
        String s = "<|start_story|>Once upon a time<|end_story|>";
        int[] parsed = tiny.encode(s, false, true);
        int[] plain = tiny.encode(s, false, false);
        // The specials are normalized=true, so HF matches their *normalized* form "▁<|start_story|>" (Prepend
        // normalizer) in the normalized text: the leading one matches (eating the prefix '▁'), the trailing
        // "time<|end_story|>" has no '▁' before it and stays plain text. Ids checked against HF tokenizers.
        assertThat(parsed).containsExactly(1, 147, 201, 282, 57, 208, 183, 209, 210);
        assertThat(plain).containsExactly(283, 57, 208, 183, 209, 210);
        assertThat(tiny.encode("The end. <|end_story|>", false, true)).endsWith(2);
        assertThat(tiny.encode("The end. <|end_story|>", false, false)).doesNotContain(2);
        assertThat(tiny.decode(parsed)).isEqualTo(s);
        assertThat(tiny.decode(parsed, true)).isEqualTo("Once upon a time<|end_story|>");
        assertThat(tiny.decode(plain)).isEqualTo(s);
    }

    @Test
    void matchesHuggingFaceTokenizersReferenceEncodings() throws Exception {
        // Fixture generated with HF tokenizers 0.23.2 (see its "generator" field).
        JsonNode ref = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                HfTokenizerJsonTest.class.getResource("/tokenizer/hf-reference-encodings.json"));
        java.util.Map<String, Tokenizer> toks = java.util.Map.of(
                "tinystories", tiny, "bytelevel", resource("bytelevel"), "metaspace", resource("metaspace"));
        int checked = 0;
        for (var e : toks.entrySet()) {
            for (JsonNode c : ref.path("cases").path(e.getKey())) {
                String text = c.get("text").asText();
                assertThat(e.getValue().encode(text, false, true)).as(e.getKey() + " parseSpecial " + text)
                        .containsExactly(TestModels.ints(c.get("parse_special")));
                assertThat(e.getValue().encode(text, false, false)).as(e.getKey() + " plain " + text)
                        .containsExactly(TestModels.ints(c.get("plain")));
                checked++;
            }
        }
        assertThat(checked).isGreaterThanOrEqualTo(60);
    }

    // ------------------------------------------------------------------ synthetic byte-level tokenizer.json

    @Test
    void byteLevelTokenizerJson() {
        Tokenizer t = resource("bytelevel");
        // merges given as [a, b] arrays; ignore_merges: "Ġthe" (258) is a whole word
        assertThat(t.encode("the the")).containsExactly('t', 257, 258);
        assertThat(t.encode("hello")).containsExactly(257, 259, 'o');
        assertThat(t.eosId()).isEqualTo(261);
        assertThat(t.bosId()).isEqualTo(-1);
        assertThat(t.addBosByDefault()).isFalse();
        assertThat(t.stopTokenIds()).containsExactly(261);
        assertThat(t.chatTemplate()).startsWith("{% for message in messages %}");
        for (String s : new String[]{"", "héllo wörld 😀 中文", "I'LL be\n\n  there 12345", "\ttab  "}) {
            assertThat(t.decode(t.encode(s))).isEqualTo(s);
            assertThat(RealModels.streamAll(t, t.encode(s), false)).isEqualTo(s);
        }
    }

    @Test
    void byteLevelAddedTokens() {
        Tokenizer t = resource("bytelevel");
        // special tokens only with parseSpecial; lstrip on <|im_end|> swallows the space before it
        assertThat(t.encode("<|im_start|>he <|im_end|>", false, true)).containsExactly(260, 257, 261);
        assertThat(t.encode("<|im_start|>he", false, false)).doesNotContain(260);
        // non-special added token: always recognised
        assertThat(t.encode("he<tool>", false, false)).containsExactly(257, 262);
        assertThat(t.isSpecial(262)).isFalse();
        assertThat(t.decode(new int[]{260, 257, 262, 261}, true)).isEqualTo("he<tool>");
        assertThat(t.decode(new int[]{260, 257, 262, 261}, false)).isEqualTo("<|im_start|>he<tool><|im_end|>");
    }

    // ------------------------------------------------------------------ synthetic Metaspace + byte fallback

    @Test
    void metaspaceWithByteFallback() {
        Tokenizer t = resource("metaspace");
        // "ab ab" -> "▁ab▁ab" (prepend_scheme first) -> words "▁ab", "▁ab";
        // each: (▁ a) rank 0 -> (▁a b) rank 1 -> "▁ab" 264
        assertThat(t.encode("ab ab")).containsExactly(264, 264);
        // no config file: add_bos inferred from the TemplateProcessing post-processor
        assertThat(t.addBosByDefault()).isTrue();
        assertThat(t.bosId()).isEqualTo(1);
        // NFC: e + combining acute -> é (265)
        assertThat(t.encode("e\u0301")).containsExactly(259, 265);
        // byte fallback: 'x' -> <0x78>
        assertThat(t.encode("x")).containsExactly(259, 3 + 0x78);
        // "first": after a special token no '▁' is prepended
        assertThat(t.encode("<s>ab", false, true)).containsExactly(1, 263);
        assertThat(t.decode(new int[]{264, 264})).isEqualTo("ab ab");
        // Like HF (legacy Metaspace), a leading run of spaces loses one on decode: the first token's '▁' is dropped.
        assertThat(t.decode(t.encode("  two"))).isEqualTo(" two");
        assertThat(t.decode(new int[]{1, 264, 264})).isEqualTo("<s> ab ab");
        for (String s : new String[]{"ab ab", "héllo wörld 😀 中文", "tab\tnew\nline", "end  "}) {
            int[] ids = t.encode(s);
            assertThat(t.decode(ids)).isEqualTo(s);
            assertThat(t.decode(t.encode(s, true, false), true)).isEqualTo(s);
            assertThat(RealModels.streamAll(t, ids, false)).isEqualTo(s);
        }
    }
}
