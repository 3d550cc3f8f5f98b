package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The Q4_0 copy's layout choice: the override (property before environment) and the kernel's availability. */
class PackedRowsLayoutTest {

    @Test
    void defaultFollowsTheKernel() {
        assertThat(PackedRows.q4Nibbles(null, null, true)).isTrue();
        assertThat(PackedRows.q4Nibbles(null, null, false)).isFalse();
    }

    @Test
    void int8OverrideTurnsNibblesOff() {
        assertThat(PackedRows.q4Nibbles("int8", null, true)).isFalse();
        assertThat(PackedRows.q4Nibbles(null, " INT8 ", true)).isFalse();
    }

    @Test
    void nibbleOverrideNeedsTheKernel() {
        assertThat(PackedRows.q4Nibbles("nibble", null, true)).isTrue();
        assertThat(PackedRows.q4Nibbles("nibble", null, false)).isFalse();
    }

    @Test
    void propertyWinsOverEnvironmentAndUnknownValuesAreIgnored() {
        assertThat(PackedRows.q4Nibbles("int8", "nibble", true)).isFalse();
        assertThat(PackedRows.q4Nibbles("nibble", "int8", true)).isTrue();
        assertThat(PackedRows.q4Nibbles("fast", "int8", true)).isFalse();
        assertThat(PackedRows.q4Nibbles("", null, true)).isTrue();
    }
}
