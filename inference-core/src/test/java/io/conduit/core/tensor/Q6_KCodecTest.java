package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Q6_KCodecTest {
    private final TensorCodec codec = TensorCodec.of(GgmlType.Q6_K);

    /** A 6-bit test pattern for element k of a super-block. */
    static int q(int k) {
        return (k * 37 + 11) % 64;
    }

    /**
     * Builds a block from the documented layout: per 128-element half h (ql += 64, qh += 32), for l in 0..31,
     * element l takes ql[l] low nibble and qh[l] bits 0-1, l+32 ql[l+32] low and bits 2-3, l+64 ql[l] high and
     * bits 4-5, l+96 ql[l+32] high and bits 6-7. Then scales[16] (int8) at 192 and fp16 d at 208.
     */
    static int[] block(int[] scales, int dBits) {
        int[] raw = new int[210];
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int base = 128 * h;
                int a = q(base + l), b = q(base + l + 32), c = q(base + l + 64), e = q(base + l + 96);
                raw[64 * h + l] = (a & 0xF) | ((c & 0xF) << 4);
                raw[64 * h + 32 + l] = (b & 0xF) | ((e & 0xF) << 4);
                raw[128 + 32 * h + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
            }
        }
        for (int i = 0; i < 16; i++) raw[192 + i] = scales[i];
        raw[208] = dBits & 0xFF;
        raw[209] = dBits >> 8;
        return raw;
    }

    @Test
    void literalBitsOfOneElement() {
        // Element 96 is ql[32] high nibble + qh[0] bits 6-7, scale 6. q = 0xF | 3 << 4 = 63 -> 2 * (63 - 32) = 62.
        // Elements 97..111 share scale 6 with q = 0: 2 * (0 - 32) = -64. All other scales are 0.
        int[] raw = new int[210];
        raw[32] = 0xF0;
        raw[128] = 0xC0;
        raw[192 + 6] = 2;
        raw[209] = 0x3C;    // d = 1.0
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[256];
            codec.dequantize(CodecTestSupport.bytes(arena, raw), 0, out, 0, 256);
            for (int i = 0; i < 256; i++) {
                assertThat(out[i]).as("element %d", i).isCloseTo(i == 96 ? 62f : i > 96 && i < 112 ? -64f : 0f, within(0f));
            }
        }
    }

    @Test
    void handBuiltBlockDecodesPerDocumentedFormula() {
        int[] scales = {1, -2, 3, -4, 127, -128, 7, 8, 9, 10, -11, 12, 13, 14, 15, -16};
        float d = 0.25f;   // fp16 0x3400
        int[] raw = block(scales, 0x3400);
        float[] expected = new float[256];
        for (int k = 0; k < 256; k++) expected[k] = d * scales[k / 16] * (q(k) - 32);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = CodecTestSupport.bytes(arena, raw);
            float[] out = new float[256];
            codec.dequantize(seg, 0, out, 0, 256);
            assertThat(out).containsExactly(expected);

            float[] x = CodecTestSupport.gaussian(new Random(6), 256, 1f);
            double dot = 0;
            for (int i = 0; i < 256; i++) dot += (double) expected[i] * x[i];
            assertThat((double) codec.dotReference(seg, 0, x, 0, 256)).isCloseTo(dot, within(1e-3));
            assertThat((double) codec.dot(seg, 0, x, 0, 256)).isCloseTo(dot, within(1e-3));
        }
    }

    @Test
    void roundTripRelativeRmsErrorIsSmallForGaussianData() {
        float[] x = CodecTestSupport.gaussian(new Random(66), 256 * 32, 0.02f);
        // Measured about 0.018 with this seed (budget 0.03).
        assertThat(Q4_KCodecTest.relativeRms(codec, x)).isLessThan(0.025);
    }

    @Test
    void largestScaleMapsToMinus128AsInGgml() {
        float[] x = CodecTestSupport.gaussian(new Random(7), 256, 1f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(210);
            codec.quantize(x, 0, 256, seg, 0);
            int minScale = 0;
            for (int i = 0; i < 16; i++) minScale = Math.min(minScale, seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 192 + i));
            assertThat(minScale).isEqualTo(-128);
        }
    }

    @Test
    void zeroBlockRoundTrips() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(210);
            seg.fill((byte) 0x7F);
            codec.quantize(new float[256], 0, 256, seg, 0);
            float[] y = new float[256];
            codec.dequantize(seg, 0, y, 0, 256);
            for (float v : y) assertThat(v).isCloseTo(0f, within(0f));
        }
    }
}
