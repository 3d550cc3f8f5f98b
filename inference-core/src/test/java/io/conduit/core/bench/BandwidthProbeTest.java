package io.conduit.core.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BandwidthProbeTest {
    @Test
    void bufferIsWholeMebibytesAndEveryPassReportsARate() {
        try (BandwidthProbe p = new BandwidthProbe((8L << 20) + 12345)) {
            assertThat(p.bytes()).isEqualTo(8L << 20);
            for (int i = 0; i < 3; i++) assertThat(p.passGbs()).isPositive().isFinite();
        }
        try (BandwidthProbe p = new BandwidthProbe(100)) {
            assertThat(p.bytes()).isEqualTo(1L << 20);
        }
    }

    @Test
    void machineLimitsTakesTheBestOfItsPasses() {
        assertThat(MachineLimits.bandwidthGbs(4L << 20, 2)).isPositive().isFinite();
    }
}
