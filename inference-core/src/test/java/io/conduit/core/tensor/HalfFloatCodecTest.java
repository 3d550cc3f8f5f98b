package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/** F16 and BF16 edge values: subnormals, infinities, NaN, signed zero, rounding ties, byte order. */
class HalfFloatCodecTest {
    private final TensorCodec f16 = TensorCodec.of(GgmlType.F16);
    private final TensorCodec bf16 = TensorCodec.of(GgmlType.BF16);

    private static short encode(TensorCodec codec, float v) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2);
            codec.quantize(new float[] {v}, 0, 1, seg, 0);
            return seg.get(CodecTestSupport.LE_SHORT, 0);
        }
    }

    private static float decode(TensorCodec codec, int bits) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2);
            seg.set(CodecTestSupport.LE_SHORT, 0, (short) bits);
            float[] out = new float[1];
            codec.dequantize(seg, 0, out, 0, 1);
            return out[0];
        }
    }

    @Test
    void f16StoresLittleEndian() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2);
            f16.quantize(new float[] {1f}, 0, 1, seg, 0);            // 1.0 = 0x3C00
            assertThat(seg.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 0x00);
            assertThat(seg.get(ValueLayout.JAVA_BYTE, 1)).isEqualTo((byte) 0x3C);
        }
    }

    @Test
    void f16EncodesEdgeValues() {
        assertThat(encode(f16, 65504f)).isEqualTo((short) 0x7BFF);              // largest finite
        assertThat(encode(f16, 65520f)).isEqualTo((short) 0x7C00);              // rounds up to +Inf
        assertThat(encode(f16, Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFC00);
        assertThat(encode(f16, -0f)).isEqualTo((short) 0x8000);
        assertThat(encode(f16, 0x1p-24f)).isEqualTo((short) 0x0001);            // smallest subnormal
        assertThat(encode(f16, 0x1p-25f)).isEqualTo((short) 0x0000);            // tie -> even (zero)
        assertThat(encode(f16, 0x1.8p-24f)).isEqualTo((short) 0x0002);          // tie 1.5 ulp -> even (2)
        assertThat(encode(f16, 1f + 0x1p-11f)).isEqualTo((short) 0x3C00);       // tie -> even mantissa 0
        assertThat(encode(f16, 1f + 0x3p-11f)).isEqualTo((short) 0x3C02);       // tie -> even mantissa 2
        assertThat(encode(f16, 1f + 0x1.2p-11f)).isEqualTo((short) 0x3C01);     // above the tie -> up
        short nan = encode(f16, Float.NaN);
        assertThat(nan & 0x7C00).isEqualTo(0x7C00);
        assertThat(nan & 0x03FF).isNotZero();
    }

    @Test
    void f16DecodesEdgeValues() {
        assertThat(decode(f16, 0x0001)).isEqualTo(0x1p-24f);
        assertThat(decode(f16, 0x03FF)).isEqualTo(0x3FFp-24f);                 // largest subnormal
        assertThat(decode(f16, 0x0400)).isEqualTo(0x1p-14f);                   // smallest normal
        assertThat(decode(f16, 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(decode(f16, 0xFC00)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(decode(f16, 0x7E00)).isNaN();
        assertThat(Float.floatToRawIntBits(decode(f16, 0x8000))).isEqualTo(0x80000000);
        assertThat(decode(f16, 0xC000)).isEqualTo(-2f);
    }

    /** The Vector API has no fp16 conversion, so the fast path's bit-twiddling widen is checked on all 65536 patterns. */
    @Test
    void vectorWidenMatchesFloat16ToFloatForEveryBitPattern() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Codecs.VECTORIZE, "needs 256-bit vectors");
        VectorSpecies<Short> s = Codecs.S;
        short[] all = new short[65536];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        float[] out = new float[s.length()];
        for (int i = 0; i < all.length; i += s.length()) {
            FloatVector v = F16Codec.widen(ShortVector.fromArray(s, all, i));
            v.intoArray(out, 0);
            for (int k = 0; k < out.length; k++) {
                float expected = Float.float16ToFloat(all[i + k]);
                if (Float.isNaN(expected)) {
                    assertThat(out[k]).as("bits %04x", i + k).isNaN();
                } else {
                    assertThat(Float.floatToRawIntBits(out[k])).as("bits %04x", i + k)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
    }

    @Test
    void f16DotHandlesSubnormalsAndInfinity() {
        float[] w = new float[16];
        for (int i = 0; i < 16; i++) w[i] = (i + 1) * 0x1p-24f;   // all subnormal in fp16
        float[] x = new float[16];
        java.util.Arrays.fill(x, 0x1p20f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(32);
            f16.quantize(w, 0, 16, seg, 0);
            float expected = 136 * 0x1p-4f;                              // sum(1..16) * 2^-24 * 2^20
            assertThat(f16.dot(seg, 0, x, 0, 16)).isEqualTo(expected);
            assertThat(f16.dotReference(seg, 0, x, 0, 16)).isEqualTo(expected);
            seg.set(CodecTestSupport.LE_SHORT, 6, (short) 0x7C00);        // element 3 = +Inf
            assertThat(f16.dot(seg, 0, x, 0, 16)).isEqualTo(Float.POSITIVE_INFINITY);
        }
    }

    @Test
    void bf16RoundsToNearestEvenLikeGgml() {
        assertThat(encode(bf16, 1f)).isEqualTo((short) 0x3F80);
        assertThat(encode(bf16, -1f)).isEqualTo((short) 0xBF80);
        assertThat(encode(bf16, Float.intBitsToFloat(0x3F808000))).isEqualTo((short) 0x3F80);  // tie, even stays
        assertThat(encode(bf16, Float.intBitsToFloat(0x3F818000))).isEqualTo((short) 0x3F82);  // tie, odd rounds up
        assertThat(encode(bf16, Float.intBitsToFloat(0x3F808001))).isEqualTo((short) 0x3F81);  // above tie
        assertThat(encode(bf16, Float.intBitsToFloat(0x3F807FFF))).isEqualTo((short) 0x3F80);  // below tie
        assertThat(encode(bf16, Float.MAX_VALUE)).isEqualTo((short) 0x7F80);                    // overflows to Inf
        assertThat(encode(bf16, Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFF80);
        assertThat(encode(bf16, Float.intBitsToFloat(0x00012345))).isEqualTo((short) 0x0001);  // subnormal
        assertThat(encode(bf16, -0f)).isEqualTo((short) 0x8000);
    }

    @Test
    void bf16KeepsNaNsQuietInsteadOfRoundingThemToInfinity() {
        // 0x7F800001 is a signalling NaN whose payload lives only in the low bits: plain rounding would give 0x7F80 (Inf).
        assertThat(encode(bf16, Float.intBitsToFloat(0x7F800001))).isEqualTo((short) 0x7FC0);
        assertThat(encode(bf16, Float.intBitsToFloat(0xFFC00001))).isEqualTo((short) 0xFFC0);
        assertThat(encode(bf16, Float.intBitsToFloat(0x7FFFFFFF))).isEqualTo((short) 0x7FFF);  // no carry into sign
    }

    @Test
    void bf16DecodesAsUpperHalfOfFloat() {
        assertThat(decode(bf16, 0x3F80)).isEqualTo(1f);
        assertThat(decode(bf16, 0xC0A0)).isEqualTo(-5f);
        assertThat(decode(bf16, 0x0001)).isEqualTo(Float.intBitsToFloat(0x00010000));
        assertThat(decode(bf16, 0x7F80)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(decode(bf16, 0x7FC0)).isNaN();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = CodecTestSupport.bytes(arena, 0x80, 0x3F);   // little-endian 0x3F80
            float[] out = new float[1];
            bf16.dequantize(seg, 0, out, 0, 1);
            assertThat(out[0]).isEqualTo(1f);
        }
    }
}
