package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The Q4_0 copy's layout choice: the override (property before environment) and the kernel's availability. */
class LaneRowsLayoutTest {

    @Test
    void defaultFollowsTheKernel() {
        assertThat(LaneRows.q4Nibbles(null, null, true)).isTrue();
        assertThat(LaneRows.q4Nibbles(null, null, false)).isFalse();
    }

    @Test
    void int8OverrideTurnsNibblesOff() {
        assertThat(LaneRows.q4Nibbles("int8", null, true)).isFalse();
        assertThat(LaneRows.q4Nibbles(null, " INT8 ", true)).isFalse();
    }

    @Test
    void nibbleOverrideNeedsTheKernel() {
        assertThat(LaneRows.q4Nibbles("nibble", null, true)).isTrue();
        assertThat(LaneRows.q4Nibbles("nibble", null, false)).isFalse();
    }

    @Test
    void propertyWinsOverEnvironmentAndUnknownValuesAreIgnored() {
        assertThat(LaneRows.q4Nibbles("int8", "nibble", true)).isFalse();
        assertThat(LaneRows.q4Nibbles("nibble", "int8", true)).isTrue();
        assertThat(LaneRows.q4Nibbles("fast", "int8", true)).isFalse();
        assertThat(LaneRows.q4Nibbles("", null, true)).isTrue();
    }
}
