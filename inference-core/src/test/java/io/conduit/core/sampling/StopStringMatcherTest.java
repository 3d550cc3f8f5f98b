package io.conduit.core.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StopStringMatcherTest {

    /** Feeds the chunks, returns everything emitted (plus the flush unless stopped) and the matcher. */
    private static String run(StopStringMatcher m, String... chunks) {
        StringBuilder out = new StringBuilder();
        for (String c : chunks) {
            StopStringMatcher.Result r = m.feed(c);
            out.append(r.text());
            if (r.stopped()) {
                return out.toString();
            }
        }
        return out.append(m.flush()).toString();
    }

    @Test
    void withoutStopStringsEverythingIsEmittedImmediately() {
        StopStringMatcher m = new StopStringMatcher(List.of());
        assertThat(m.feed("Hello ").text()).isEqualTo("Hello ");
        assertThat(m.feed("world").text()).isEqualTo("world");
        assertThat(m.flush()).isEmpty();
        assertThat(m.stopped()).isFalse();
    }

    @Test
    void stopInsideOneChunkIsExcludedWithWhatFollows() {
        StopStringMatcher m = new StopStringMatcher(List.of("END"));
        StopStringMatcher.Result r = m.feed("abc END def");
        assertThat(r.text()).isEqualTo("abc ");
        assertThat(r.stopped()).isTrue();
        assertThat(r.stopString()).isEqualTo("END");
        assertThat(m.feed("more").text()).as("finished: nothing more is emitted").isEmpty();
        assertThat(m.feed("more").stopped()).isTrue();
        assertThat(m.flush()).isEmpty();
    }

    @Test
    void stopSplitAcrossSeveralChunksIsHeldBackThenDropped() {
        StopStringMatcher m = new StopStringMatcher(List.of("</answer>"));
        StopStringMatcher.Result r1 = m.feed("42 </an");
        assertThat(r1.text()).isEqualTo("42 ");
        assertThat(r1.stopped()).isFalse();
        StopStringMatcher.Result r2 = m.feed("sw");
        assertThat(r2.text()).isEmpty();
        assertThat(r2.stopped()).isFalse();
        StopStringMatcher.Result r3 = m.feed("er> trailing");
        assertThat(r3.text()).isEmpty();
        assertThat(r3.stopped()).isTrue();
        assertThat(r3.stopString()).isEqualTo("</answer>");
    }

    @Test
    void partialPrefixThatDoesNotCompleteIsReleased() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        assertThat(m.feed("go ST").text()).isEqualTo("go ");
        assertThat(m.feed("O").text()).isEmpty();
        StopStringMatcher.Result r = m.feed("RM now");
        assertThat(r.text()).isEqualTo("STORM now");
        assertThat(r.stopped()).isFalse();
        // a held prefix at the very end is released by flush
        assertThat(m.feed(" ST").text()).isEqualTo(" ");
        assertThat(m.flush()).isEqualTo("ST");
        assertThat(m.flush()).isEmpty();
    }

    @Test
    void overlappingPrefixRestartsCorrectly() {
        // "aab": after "aa" the held "aa" fails on "a" but "a"+"ab" must still be found
        StopStringMatcher m = new StopStringMatcher(List.of("aab"));
        assertThat(run(m, "xa", "a", "a", "b", "c")).isEqualTo("xa");
        assertThat(m.matchedStop()).isEqualTo("aab");
    }

    @Test
    void multipleStopStringsTheFirstCompletedWins() {
        StopStringMatcher m = new StopStringMatcher(List.of("\n\n", "Human:", "###"));
        assertThat(run(m, "Answer: yes", "\nHum", "an: next")).isEqualTo("Answer: yes\n");
        assertThat(m.matchedStop()).isEqualTo("Human:");

        // both complete in one chunk: the one that ends first wins, as it would have with char-by-char streaming
        StopStringMatcher m2 = new StopStringMatcher(List.of("abcd", "c"));
        assertThat(run(m2, "xxabcdyy")).isEqualTo("xxab");
        assertThat(m2.matchedStop()).isEqualTo("c");

        // same end: the longer (earlier start) wins
        StopStringMatcher m3 = new StopStringMatcher(List.of("c", "bc"));
        assertThat(run(m3, "abcd")).isEqualTo("a");
        assertThat(m3.matchedStop()).isEqualTo("bc");

        // a partial of one stop string must not hide a complete other one
        StopStringMatcher m4 = new StopStringMatcher(List.of("hello world", "lo"));
        assertThat(run(m4, "say hel", "lo")).isEqualTo("say hel");
        assertThat(m4.matchedStop()).isEqualTo("lo");
    }

    @Test
    void stopAtTheVeryStartEmitsNothing() {
        StopStringMatcher m = new StopStringMatcher(List.of("<|end|>"));
        StopStringMatcher.Result r = m.feed("<|end|>whatever");
        assertThat(r.text()).isEmpty();
        assertThat(r.stopped()).isTrue();
        StopStringMatcher split = new StopStringMatcher(List.of("<|end|>"));
        assertThat(split.feed("<|").text()).isEmpty();
        assertThat(split.feed("end|>").stopped()).isTrue();
    }

    @Test
    void unicodeStopStringsAndSurrogatePairs() {
        StopStringMatcher cjk = new StopStringMatcher(List.of("。停止"));
        assertThat(run(cjk, "你好。", "停", "止之后")).isEqualTo("你好");
        assertThat(cjk.stopped()).isTrue();

        // the emoji stop string is split in the middle of its surrogate pair
        String stopSign = "\uD83D\uDED1"; // 🛑
        StopStringMatcher emoji = new StopStringMatcher(List.of(stopSign));
        StopStringMatcher.Result r1 = emoji.feed("ok \uD83D");
        assertThat(r1.text()).isEqualTo("ok ");
        StopStringMatcher.Result r2 = emoji.feed("\uDED1 rest");
        assertThat(r2.stopped()).isTrue();
        assertThat(r2.text()).isEmpty();

        // a different emoji sharing the high surrogate is released whole, never half a pair
        StopStringMatcher other = new StopStringMatcher(List.of(stopSign));
        assertThat(other.feed("a\uD83D").text()).isEqualTo("a");
        assertThat(other.feed("\uDE00b").text()).isEqualTo("\uD83D\uDE00b"); // 😀b
        StopStringMatcher noStops = new StopStringMatcher(List.of("x"));
        assertThat(noStops.feed("é\uD83D").text()).as("trailing lone high surrogate held back").isEqualTo("é");
        assertThat(noStops.feed("\uDE00").text()).isEqualTo("\uD83D\uDE00");
    }

    @Test
    void resultDoesNotDependOnHowTheTextIsChunked() {
        Random r = new Random(3);
        List<String> stops = List.of("abab", "ba", "cc c", "bbb");
        String alphabet = "abc ";
        for (int trial = 0; trial < 2000; trial++) {
            StringBuilder text = new StringBuilder();
            int len = 1 + r.nextInt(12);
            for (int i = 0; i < len; i++) {
                text.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String expected = charByChar(stops, text.toString());
            List<String> chunks = new ArrayList<>();
            for (int i = 0; i < text.length(); ) {
                int n = 1 + r.nextInt(5);
                chunks.add(text.substring(i, Math.min(text.length(), i + n)));
                i += n;
            }
            String actual = run(new StopStringMatcher(stops), chunks.toArray(String[]::new));
            assertThat(actual).as("text %s chunks %s", text, chunks).isEqualTo(expected);
        }
    }

    /** Reference: grow the text one char at a time, stop at the first prefix containing a stop string. */
    private static String charByChar(List<String> stops, String text) {
        for (int end = 1; end <= text.length(); end++) {
            String prefix = text.substring(0, end);
            int cut = -1;
            for (String s : stops) {
                if (prefix.endsWith(s)) {
                    int start = end - s.length();
                    cut = cut < 0 ? start : Math.min(cut, start);
                }
            }
            if (cut >= 0) {
                return text.substring(0, cut);
            }
        }
        return text;
    }
}
