package io.conduit.core.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenHistoryTest {

    @Test
    void tracksPromptAndGeneratedSeparately() {
        TokenHistory h = new TokenHistory(new int[] {5, 3, 5});
        h.append(3);
        h.append(9);
        h.append(3);
        assertThat(h.promptLength()).isEqualTo(3);
        assertThat(h.generatedCount()).isEqualTo(3);
        assertThat(h.size()).isEqualTo(6);
        assertThat(h.generatedIds()).containsExactly(3, 9, 3);
        assertThat(h.tokenAt(0)).isEqualTo(5);
        assertThat(h.tokenAt(5)).isEqualTo(3);
        assertThat(h.generatedOccurrences(3)).isEqualTo(2);
        assertThat(h.generatedOccurrences(5)).as("prompt tokens are not counted as generated").isZero();
        assertThat(h.generatedOccurrences(9)).isEqualTo(1);
        assertThat(h.generatedOccurrences(1_000_000)).isZero();
        assertThat(h.contains(5)).isTrue();
        assertThat(h.contains(9)).isTrue();
        assertThat(h.contains(4)).isFalse();
        assertThat(distinct(h, true)).containsExactlyInAnyOrder(5, 3, 9);
        assertThat(distinct(h, false)).containsExactlyInAnyOrder(3, 9);
    }

    @Test
    void growsForLargeIdsAndLongSequences() {
        TokenHistory h = new TokenHistory(new int[0]);
        for (int i = 0; i < 10_000; i++) {
            h.append((i * 7919) % 151_936);
        }
        h.append(151_935);
        assertThat(h.generatedCount()).isEqualTo(10_001);
        assertThat(h.generatedOccurrences(151_935)).isEqualTo(1);
        assertThat(h.generatedOccurrences(0)).isEqualTo(1);
        assertThat(h.tokenAt(10_000)).isEqualTo(151_935);
    }

    @Test
    void rejectsNegativeIds() {
        assertThatThrownBy(() -> new TokenHistory(new int[] {-1})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TokenHistory(new int[0]).append(-4))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static Set<Integer> distinct(TokenHistory h, boolean all) {
        Set<Integer> s = new HashSet<>();
        int n = all ? h.seenDistinctCount() : h.generatedDistinctCount();
        for (int i = 0; i < n; i++) {
            assertThat(s.add(all ? h.seenDistinct(i) : h.generatedDistinct(i))).as("distinct").isTrue();
        }
        return s;
    }
}
