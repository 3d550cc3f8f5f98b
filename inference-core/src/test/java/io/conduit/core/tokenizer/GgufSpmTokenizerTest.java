package io.conduit.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** SentencePiece-style GGUF tokenizer against the real stories260K vocabulary (512 tokens, scores, byte tokens). */
class GgufSpmTokenizerTest {

    static Tokenizer tok;
    static JsonNode golden;

    @BeforeAll
    static void load() {
        tok = RealModels.stories260k();
        golden = TestModels.golden("stories260K.golden.json");
    }

    @Test
    void metadataBasics() {
        assertThat(tok.vocabSize()).isEqualTo(512);
        assertThat(tok.bosId()).isEqualTo(1);
        assertThat(tok.eosId()).isEqualTo(2);
        assertThat(tok.stopTokenIds()).containsExactly(2);
        assertThat(tok.addBosByDefault()).isTrue();
        assertThat(tok.tokenText(403)).isEqualTo("▁Once");
        assertThat(tok.idOf("<0x0A>")).isEqualTo(13);
        assertThat(tok.isSpecial(1)).isTrue();
        assertThat(tok.isSpecial(0)).isTrue();
        assertThat(tok.isSpecial(403)).isFalse();
        assertThat(tok.isSpecial(13)).isFalse();
    }

    @Test
    void goldenGreedyIdsDecodeToGoldenText() {
        int[] ids = TestModels.ints(golden.get("greedy_ids"));
        String text = golden.get("greedy_text").asText();
        // A continuation (no BOS in the ids) keeps the leading space of "▁Once".
        assertThat(tok.decode(ids)).isEqualTo(text);
        assertThat(RealModels.streamAll(tok, ids, false)).isEqualTo(text);
        // After BOS the add_space_prefix space is dropped, as SentencePiece does.
        int[] withBos = RealModels.prepend(1, ids);
        assertThat(tok.decode(withBos, true)).isEqualTo(text.substring(1));
        assertThat(tok.decode(withBos, false)).isEqualTo("<s>" + text.substring(1));
        assertThat(RealModels.streamAll(tok, withBos, true)).isEqualTo(text.substring(1));
    }

    @Test
    void goldenTextEncodesBackToGoldenIds() {
        // The greedy continuation is canonically tokenized: encoding its text (the leading space is the
        // add_space_prefix one) gives the ids back. The newline is the byte token <0x0A> (13).
        int[] ids = TestModels.ints(golden.get("greedy_ids"));
        String text = golden.get("greedy_text").asText();
        assertThat(tok.encode(text.substring(1))).containsExactly(ids);
        assertThat(tok.encode(text.substring(1), true, false)).containsExactly(RealModels.prepend(1, ids));
    }

    @Test
    void knownStringsEncodeToKnownIds() {
        // Ids read off the vocabulary: ▁Once=403 ▁upon=407 ▁a=261 ▁time=378 ,=432
        assertThat(tok.encode("Once upon a time,")).containsExactly(403, 407, 261, 378, 432);
        assertThat(tok.encode("Once", true, false)).containsExactly(1, 403);
        // Empty text: nothing (plus BOS when asked), like llama.cpp.
        assertThat(tok.encode("")).isEmpty();
        assertThat(tok.encode("", true, false)).containsExactly(1);
    }

    @Test
    void unknownCharactersFallBackToByteTokens() {
        // "中" is not in the 512-token vocab: ▁ then UTF-8 E4 B8 AD as byte tokens <0xXX> = 3 + XX.
        assertThat(tok.idOf("中")).isNull();
        int[] ids = tok.encode("中");
        assertThat(ids).containsExactly(tok.idOf("▁"), 3 + 0xE4, 3 + 0xB8, 3 + 0xAD);
        assertThat(tok.tokenText(3 + 0xE4)).isEqualTo("<0xE4>");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Hello world", "héllo wörld, ça va?", "日本語のテキスト 中文", "emoji 😀👍🏽 done",
            "multiple   spaces  here", "tabs\tand\nnewlines\n\n", "  leading and trailing  ", " ", "\n", "",
            "Ünïcödé ñ ß ø Ω", "mixed😀中é"})
    void roundTripsThroughBosDecode(String s) {
        int[] ids = tok.encode(s, true, false);
        assertThat(tok.decode(ids, true)).isEqualTo(s);
        assertThat(RealModels.streamAll(tok, ids, true)).isEqualTo(s);
        // Without BOS the decoded text carries the add_space_prefix space.
        if (!s.isEmpty()) {
            assertThat(tok.decode(tok.encode(s))).isEqualTo(" " + s);
        }
    }

    @Test
    void specialTokensParsedOnlyWhenAsked() {
        String text = "Hi</s>there";
        int[] plain = tok.encode(text, false, false);
        int[] parsed = tok.encode(text, false, true);
        assertThat(plain).doesNotContain(2);
        assertThat(tok.decode(plain)).isEqualTo(" Hi</s>there");
        assertThat(parsed).contains(2);
        // After a special token, the next fragment gets the space prefix again (llama.cpp behaviour).
        int eos = indexOf(parsed, 2);
        assertThat(Arrays.copyOfRange(parsed, eos + 1, parsed.length)).containsExactly(tok.encode("there"));
        assertThat(tok.decode(parsed)).isEqualTo(" Hi</s> there");
        assertThat(tok.decode(parsed, true)).isEqualTo(" Hi there");
    }

    @Test
    void streamingHoldsBackIncompleteUtf8() {
        // 😀 = F0 9F 98 80: four byte tokens; nothing may be emitted before the last one.
        int[] ids = tok.encode("😀", true, false);
        assertThat(ids).containsExactly(1, tok.idOf("▁"), 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80);
        // BOS skipped, "▁" right after BOS loses its prefix space, then the bytes complete at the end.
        assertThat(feedEach(tok.streamingDecoder(true), ids)).containsExactly("", "", "", "", "", "😀");
        // As a continuation (no BOS) the space is real text and is emitted at once.
        assertThat(feedEach(tok.streamingDecoder(true), Arrays.copyOfRange(ids, 1, ids.length)))
                .containsExactly(" ", "", "", "", "😀");
    }

    @Test
    void streamingMatchesFullDecodeOnMixedText() {
        String s = "Ünïcödé 日本 😀!\n  x";
        for (int[] ids : List.of(tok.encode(s), tok.encode(s, true, false))) {
            for (boolean skip : new boolean[]{false, true}) {
                assertThat(RealModels.streamAll(tok, ids, skip)).isEqualTo(tok.decode(ids, skip));
            }
        }
    }

    private static List<String> feedEach(StreamingDecoder d, int[] ids) {
        List<String> chunks = new ArrayList<>();
        for (int id : ids) {
            chunks.add(d.feed(id));
        }
        return chunks;
    }

    @Test
    void streamingFlushReplacesDanglingBytes() {
        StreamingDecoder d = tok.streamingDecoder(false);
        assertThat(d.feed(3 + 0xE4)).isEmpty();
        assertThat(d.feed(3 + 0xB8)).isEmpty();
        assertThat(d.flush()).isEqualTo("\uFFFD");
        assertThat(tok.decode(new int[]{3 + 0xE4, 3 + 0xB8})).isEqualTo("\uFFFD");
    }

    @Test
    void outOfRangeIdIsRejected() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> tok.decode(new int[]{512}))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("512");
    }

    @Test
    void weakQ8GgufMetadataStillDecodesItsGolden() {
        // TinyStories-656K Q8_0: all scores -1000, no byte types; its tokens carry '▁' at the end.
        Tokenizer q8 = RealModels.tinyStoriesQ8Gguf();
        JsonNode g = TestModels.golden("tinystories-656k-q8_0.golden.json");
        int[] ids = TestModels.ints(g.get("greedy_ids"));
        assertThat(q8.vocabSize()).isEqualTo(2048);
        assertThat(q8.decode(ids)).isEqualTo(g.get("greedy_text").asText());
        assertThat(q8.decode(RealModels.prepend(1, ids), true)).isEqualTo(g.get("greedy_text").asText());
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }
}
