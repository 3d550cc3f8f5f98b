package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Q4_0CodecTest {
    private final TensorCodec codec = TensorCodec.of(GgmlType.Q4_0);

    @Test
    void handBuiltBlockUsesLowNibblesForFirstHalfAndHighNibblesForSecond() {
        // fp16 d = 2.0 (0x4000 -> bytes 00 40); qs[j] = j | (15 - j) << 4.
        int[] raw = new int[18];
        raw[1] = 0x40;
        for (int j = 0; j < 16; j++) raw[2 + j] = j | ((15 - j) << 4);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = CodecTestSupport.bytes(arena, raw);
            float[] out = new float[32];
            codec.dequantize(seg, 0, out, 0, 32);
            float[] x = new float[32];
            double expectedDot = 0;
            for (int j = 0; j < 16; j++) {
                assertThat(out[j]).as("element %d (low nibble)", j).isEqualTo(2f * (j - 8));
                assertThat(out[j + 16]).as("element %d (high nibble)", j + 16).isEqualTo(2f * (15 - j - 8));
            }
            for (int j = 0; j < 32; j++) {
                x[j] = (j * 7) % 11 - 5;
                float w = j < 16 ? 2f * (j - 8) : 2f * (15 - (j - 16) - 8);
                expectedDot += w * x[j];
            }
            assertThat(codec.dotReference(seg, 0, x, 0, 32)).isEqualTo((float) expectedDot);
            assertThat(codec.dot(seg, 0, x, 0, 32)).isEqualTo((float) expectedDot);
        }
    }

    @Test
    void quantizeMatchesGgmlReference() {
        // Largest magnitude is -8, so d = -8 / -8 = 1 and nibble = min(15, (int)(x + 8.5)) (truncation).
        float[] x = new float[32];
        x[0] = -8f;    // -> 0
        x[1] = 7f;     // 15.5 -> 15
        x[2] = 7.9f;   // 16.4 -> 16 -> clamped to 15
        x[3] = -0.6f;  // 7.9 -> 7 (truncates, does not round)
        x[4] = 0.4f;   // 8.9 -> 8
        x[16] = 3f;    // 11.5 -> 11, high nibble of byte 0
        x[17] = -3.5f; // 5.0 -> 5, high nibble of byte 1
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(18);
            codec.quantize(x, 0, 32, seg, 0);
            int[] expected = {0x00, 0x3C, 0xB0, 0x5F, 0x8F, 0x87, 0x88};
            for (int i = 0; i < expected.length; i++) {
                assertThat(seg.get(ValueLayout.JAVA_BYTE, i)).as("byte %d", i).isEqualTo((byte) expected[i]);
            }
            for (int i = expected.length; i < 18; i++) {
                assertThat(seg.get(ValueLayout.JAVA_BYTE, i)).as("byte %d", i).isEqualTo((byte) 0x88);
            }
        }
    }

    @Test
    void positiveExtremeGetsNegativeScaleAndIsExact() {
        float[] x = new float[32];
        x[9] = 8f;
        x[10] = -4f;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(18);
            codec.quantize(x, 0, 32, seg, 0);
            assertThat(Float.float16ToFloat(seg.get(CodecTestSupport.LE_SHORT, 0))).isEqualTo(-1f);
            float[] y = new float[32];
            codec.dequantize(seg, 0, y, 0, 32);
            assertThat(y[9]).isEqualTo(8f);
            assertThat(y[10]).isEqualTo(-4f);
        }
    }

    @Test
    void roundTripErrorIsHalfAStepExceptAtTheClampedEdge() {
        Random rnd = new Random(4);
        int blocks = 64;
        float[] x = CodecTestSupport.gaussian(rnd, blocks * 32, 1f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(GgmlType.Q4_0.byteSize(x.length));
            codec.quantize(x, 0, x.length, seg, 0);
            float[] y = new float[x.length];
            codec.dequantize(seg, 0, y, 0, x.length);
            for (int b = 0; b < blocks; b++) {
                float max = 0;
                for (int j = 0; j < 32; j++) if (Math.abs(x[b * 32 + j]) > Math.abs(max)) max = x[b * 32 + j];
                float d = Math.abs(max / 8);
                float fp16Slack = 8 * d * 0x1p-11f;
                for (int j = 0; j < 32; j++) {
                    int i = b * 32 + j;
                    // Values at the opposite extreme (x/d beyond +7.5 steps) are clamped to nibble 15: up to one step off.
                    boolean clamped = x[i] * (max / -8) > 0 && Math.abs(x[i]) > 7.5f * d;
                    float bound = (clamped ? d : d / 2) + fp16Slack;
                    assertThat(y[i]).as("element %d", i).isCloseTo(x[i], within(bound));
                }
            }
        }
    }
}
