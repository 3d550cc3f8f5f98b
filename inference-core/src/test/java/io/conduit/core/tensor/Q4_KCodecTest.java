package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Q4_KCodecTest {
    private final TensorCodec codec = TensorCodec.of(GgmlType.Q4_K);

    /**
     * The 12 scale bytes as documented for ggml's get_scale_min_k4: bytes 0-3 hold sc[0..3] in bits 0-5 and
     * bits 4-5 of sc[4..7] in bits 6-7; bytes 4-7 likewise for the mins; bytes 8-11 hold the low 4 bits of
     * sc[4..7] (bits 0-3) and m[4..7] (bits 4-7).
     */
    static int[] packScales(int[] sc, int[] m) {
        int[] p = new int[12];
        for (int j = 0; j < 4; j++) {
            p[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
            p[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
            p[j + 8] = (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4);
        }
        return p;
    }

    @Test
    void literalScaleBytesSelectSubBlockFour() {
        // Only sub-block 4 has a scale: 63 = 0b11_1111 -> high bits (0b11) in bits 6-7 of byte 0, low bits 0xF in byte 8.
        // Sub-block 4 is the low nibbles of the third 32-byte group of qs: elements 128..159.
        int[] raw = new int[144];
        raw[1] = 0x3C;              // d = 1.0
        raw[4] = 0xC0;              // scales[0]
        raw[4 + 8] = 0x0F;          // scales[8]
        for (int i = 16; i < 144; i++) raw[i] = 0x21; // every low nibble 1, high nibble 2
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[256];
            codec.dequantize(CodecTestSupport.bytes(arena, raw), 0, out, 0, 256);
            for (int i = 0; i < 256; i++) {
                float expected = i >= 128 && i < 160 ? 63f : 0f;
                assertThat(out[i]).as("element %d", i).isEqualTo(expected);
            }
        }
    }

    @Test
    void handBuiltBlockDecodesPerDocumentedFormula() {
        int[] sc = {1, 2, 3, 63, 5, 33, 7, 48};
        int[] m = {0, 4, 63, 1, 17, 2, 40, 9};
        float d = 0.25f;      // fp16 0x3400
        float dmin = 0.5f;    // fp16 0x3800
        int[] raw = new int[2 * 144];
        for (int b = 0; b < 2; b++) {   // two identical-layout super-blocks with different quants
            int o = b * 144;
            raw[o + 1] = 0x34;
            raw[o + 3] = 0x38;
            int[] p = packScales(sc, m);
            for (int i = 0; i < 12; i++) raw[o + 4 + i] = p[i];
            for (int i = 0; i < 128; i++) raw[o + 16 + i] = ((i + b) % 16) | ((15 - (i * 3 + b) % 16) << 4);
        }
        float[] expected = new float[512];
        for (int b = 0; b < 2; b++) {
            for (int g = 0; g < 4; g++) {           // 64 elements per 32 qs bytes
                for (int l = 0; l < 32; l++) {
                    int i = 32 * g + l;
                    int lo = (i + b) % 16;
                    int hi = 15 - (i * 3 + b) % 16;
                    expected[256 * b + 64 * g + l] = d * sc[2 * g] * lo - dmin * m[2 * g];
                    expected[256 * b + 64 * g + 32 + l] = d * sc[2 * g + 1] * hi - dmin * m[2 * g + 1];
                }
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = CodecTestSupport.bytes(arena, raw);
            float[] out = new float[512];
            codec.dequantize(seg, 0, out, 0, 512);
            assertThat(out).containsExactly(expected);

            float[] x = CodecTestSupport.gaussian(new Random(1), 512, 1f);
            double dot = 0;
            for (int i = 0; i < 512; i++) dot += (double) expected[i] * x[i];
            assertThat((double) codec.dotReference(seg, 0, x, 0, 512)).isCloseTo(dot, org.assertj.core.api.Assertions.within(1e-3));
            assertThat((double) codec.dot(seg, 0, x, 0, 512)).isCloseTo(dot, org.assertj.core.api.Assertions.within(1e-3));
        }
    }

    @Test
    void roundTripRelativeRmsErrorIsSmallForGaussianData() {
        Random rnd = new Random(44);
        int n = 256 * 32;
        float[] x = CodecTestSupport.gaussian(rnd, n, 0.02f);
        // Measured about 0.071 with this seed; the agreed budget is 0.1, kept tighter to notice a worse fit.
        assertThat(relativeRms(codec, x)).isLessThan(0.08);
    }

    @Test
    void quantizedScalesUseTheFullSixBitRangeAndPackAsDocumented() {
        float[] x = CodecTestSupport.gaussian(new Random(3), 256, 1f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(144);
            codec.quantize(x, 0, 256, seg, 0);
            int[] sc = new int[8];
            int[] m = new int[8];
            for (int j = 0; j < 8; j++) {   // unpack with the documented bit positions
                int b = j < 4 ? j : j + 4;
                if (j < 4) {
                    sc[j] = seg.get(ValueLayout.JAVA_BYTE, 4 + j) & 63;
                    m[j] = seg.get(ValueLayout.JAVA_BYTE, 8 + j) & 63;
                } else {
                    int low = seg.get(ValueLayout.JAVA_BYTE, 4 + b) & 0xFF;
                    sc[j] = (low & 0xF) | (((seg.get(ValueLayout.JAVA_BYTE, 4 + j - 4) & 0xFF) >> 6) << 4);
                    m[j] = (low >> 4) | (((seg.get(ValueLayout.JAVA_BYTE, 4 + j) & 0xFF) >> 6) << 4);
                }
            }
            // ggml maps the largest sub-block scale and min to 63.
            assertThat(java.util.Arrays.stream(sc).max().getAsInt()).isEqualTo(63);
            assertThat(java.util.Arrays.stream(m).max().getAsInt()).isEqualTo(63);
        }
    }

    @Test
    void constantAndZeroBlocksRoundTrip() {
        float[] zeros = new float[256];
        float[] constant = new float[256];
        java.util.Arrays.fill(constant, -0.75f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(144);
            float[] y = new float[256];
            codec.quantize(zeros, 0, 256, seg, 0);
            codec.dequantize(seg, 0, y, 0, 256);
            assertThat(y).containsOnly(0f);
            codec.quantize(constant, 0, 256, seg, 0);
            codec.dequantize(seg, 0, y, 0, 256);
            for (float v : y) assertThat(v).isCloseTo(-0.75f, org.assertj.core.api.Assertions.within(0.75f * 0.01f));
        }
    }

    static double relativeRms(TensorCodec codec, float[] x) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(codec.type().byteSize(x.length));
            codec.quantize(x, 0, x.length, seg, 0);
            float[] y = new float[x.length];
            codec.dequantize(seg, 0, y, 0, x.length);
            double err = 0, ref = 0;
            for (int i = 0; i < x.length; i++) {
                err += (double) (y[i] - x[i]) * (y[i] - x[i]);
                ref += (double) x[i] * x[i];
            }
            return Math.sqrt(err / ref);
        }
    }
}
