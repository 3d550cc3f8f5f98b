package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The 4-bit copies' layout choice: the override (property before environment), the kernels' availability, the default. */
class LaneRowsLayoutTest {

    @Test
    void defaultFollowsTheKernel() {
        assertThat(LaneRows.q4Nibbles(null, null, true, true)).isTrue();
        assertThat(LaneRows.q4Nibbles(null, null, false, true)).isFalse();
        assertThat(LaneRows.q4Nibbles(null, null, true, false)).as("int8 by default (Q4_0 with 8 lanes)").isFalse();
    }

    @Test
    void int8OverrideTurnsNibblesOff() {
        assertThat(LaneRows.q4Nibbles("int8", null, true, true)).isFalse();
        assertThat(LaneRows.q4Nibbles(null, " INT8 ", true, true)).isFalse();
    }

    @Test
    void nibbleOverrideNeedsTheKernel() {
        assertThat(LaneRows.q4Nibbles("nibble", null, true, true)).isTrue();
        assertThat(LaneRows.q4Nibbles("nibble", null, false, true)).isFalse();
        assertThat(LaneRows.q4Nibbles("nibble", null, true, false)).as("overrides an int8 default").isTrue();
    }

    @Test
    void propertyWinsOverEnvironmentAndUnknownValuesAreIgnored() {
        assertThat(LaneRows.q4Nibbles("int8", "nibble", true, true)).isFalse();
        assertThat(LaneRows.q4Nibbles("nibble", "int8", true, true)).isTrue();
        assertThat(LaneRows.q4Nibbles("fast", "int8", true, true)).isFalse();
        assertThat(LaneRows.q4Nibbles("", null, true, true)).isTrue();
    }
}
