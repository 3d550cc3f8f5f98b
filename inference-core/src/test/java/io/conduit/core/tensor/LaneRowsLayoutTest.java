package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import io.conduit.core.tensor.LaneRows.Q4Kernel;
import org.junit.jupiter.api.Test;

/** The Q4_0 kernel choice: the override (property before environment), the kernels' availability, the default. */
class LaneRowsLayoutTest {

    @Test
    void defaultFollowsTheKernel() {
        assertThat(LaneRows.q4Kernel(null, null, true, Q4Kernel.INT16)).isEqualTo(Q4Kernel.INT16);
        assertThat(LaneRows.q4Kernel(null, null, false, Q4Kernel.INT16)).as("no nibble kernels").isEqualTo(Q4Kernel.INT8);
        assertThat(LaneRows.q4Kernel(null, null, true, Q4Kernel.NIBBLE)).isEqualTo(Q4Kernel.NIBBLE);
    }

    @Test
    void int8OverrideTurnsNibblesOff() {
        assertThat(LaneRows.q4Kernel("int8", null, true, Q4Kernel.INT16)).isEqualTo(Q4Kernel.INT8);
        assertThat(LaneRows.q4Kernel(null, " INT8 ", true, Q4Kernel.INT16)).isEqualTo(Q4Kernel.INT8);
    }

    @Test
    void nibbleAndInt16OverridesNeedTheKernel() {
        assertThat(LaneRows.q4Kernel("nibble", null, true, Q4Kernel.INT16)).isEqualTo(Q4Kernel.NIBBLE);
        assertThat(LaneRows.q4Kernel("nibble", null, false, Q4Kernel.INT16)).isEqualTo(Q4Kernel.INT8);
        assertThat(LaneRows.q4Kernel(null, "Int16", true, Q4Kernel.NIBBLE)).isEqualTo(Q4Kernel.INT16);
        assertThat(LaneRows.q4Kernel("int16", null, false, Q4Kernel.NIBBLE)).isEqualTo(Q4Kernel.INT8);
    }

    @Test
    void propertyWinsOverEnvironmentAndUnknownValuesAreIgnored() {
        assertThat(LaneRows.q4Kernel("int8", "nibble", true, Q4Kernel.INT16)).isEqualTo(Q4Kernel.INT8);
        assertThat(LaneRows.q4Kernel("nibble", "int8", true, Q4Kernel.INT16)).isEqualTo(Q4Kernel.NIBBLE);
        assertThat(LaneRows.q4Kernel("fast", "int8", true, Q4Kernel.INT16)).isEqualTo(Q4Kernel.INT8);
        assertThat(LaneRows.q4Kernel("", null, true, Q4Kernel.INT16)).isEqualTo(Q4Kernel.INT16);
    }
}
