package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Q8_0CodecTest {
    private final TensorCodec codec = TensorCodec.of(GgmlType.Q8_0);

    @Test
    void handBuiltBlockDecodesAsDTimesQ() {
        // Block: fp16 d = 0.5 (0x3800, little-endian 00 38), then 32 signed bytes q[j] = 8*j - 128 (-128..120).
        int[] raw = new int[34];
        raw[0] = 0x00;
        raw[1] = 0x38;
        for (int j = 0; j < 32; j++) raw[2 + j] = 8 * j - 128;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = CodecTestSupport.bytes(arena, raw);
            float[] out = new float[32];
            codec.dequantize(seg, 0, out, 0, 32);
            float[] x = new float[32];
            double expectedDot = 0;
            for (int j = 0; j < 32; j++) {
                float expected = 0.5f * (8 * j - 128);
                assertThat(out[j]).as("element %d", j).isEqualTo(expected);
                x[j] = j % 5 - 2;
                expectedDot += expected * x[j];
            }
            assertThat(codec.dotReference(seg, 0, x, 0, 32)).isEqualTo((float) expectedDot);
            assertThat(codec.dot(seg, 0, x, 0, 32)).isEqualTo((float) expectedDot);
        }
    }

    @Test
    void quantizeMatchesGgmlReferenceIncludingHalfAwayFromZeroRounding() {
        // amax = 127 gives d = 1 and id = 1, so q = roundf(x): C's roundf rounds halves away from zero,
        // unlike Math.round (-2.5 -> -2) and Math.rint (2.5 -> 2).
        float[] x = new float[32];
        x[0] = 127f;
        x[1] = -2.5f;
        x[2] = 2.5f;
        x[3] = 0.5f;
        x[4] = -0.5f;
        x[5] = 1.49f;
        x[6] = -126.6f;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(34);
            codec.quantize(x, 0, 32, seg, 0);
            assertThat(seg.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 0x00); // fp16 1.0 = 0x3C00
            assertThat(seg.get(ValueLayout.JAVA_BYTE, 1)).isEqualTo((byte) 0x3C);
            int[] expectedQ = {127, -3, 3, 1, -1, 1, -127};
            for (int j = 0; j < expectedQ.length; j++) {
                assertThat(seg.get(ValueLayout.JAVA_BYTE, 2 + j)).as("q[%d]", j).isEqualTo((byte) expectedQ[j]);
            }
            for (int j = expectedQ.length; j < 32; j++) {
                assertThat(seg.get(ValueLayout.JAVA_BYTE, 2 + j)).isZero();
            }
        }
    }

    @Test
    void roundTripErrorIsAtMostHalfAStepPerBlock() {
        Random rnd = new Random(8);
        int blocks = 64;
        float[] x = CodecTestSupport.gaussian(rnd, blocks * 32, 2f);
        x[5] = 40f; // an outlier makes its block's step large, the others must stay fine-grained
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(GgmlType.Q8_0.byteSize(x.length));
            codec.quantize(x, 0, x.length, seg, 0);
            float[] y = new float[x.length];
            codec.dequantize(seg, 0, y, 0, x.length);
            for (int b = 0; b < blocks; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
                float d = amax / 127;
                // Half a step, plus the effect of storing d as fp16 (relative error <= 2^-11) on |q| <= 127.
                float bound = d / 2 + 127 * d * 0x1p-11f;
                for (int j = 0; j < 32; j++) {
                    int i = b * 32 + j;
                    assertThat(y[i]).as("element %d", i).isCloseTo(x[i], within(bound));
                }
            }
        }
    }

    @Test
    void allZeroBlockStaysZero() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(34);
            seg.fill((byte) 0x55);
            codec.quantize(new float[32], 0, 32, seg, 0);
            float[] y = new float[32];
            codec.dequantize(seg, 0, y, 0, 32);
            assertThat(y).containsOnly(0f);
        }
    }
}
