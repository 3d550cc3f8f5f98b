package io.conduit.core.kernels;

import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.WeightMatrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Turns one weight row into floats, Vector API where it pays. Every path produces exactly the floats of
 * {@link io.conduit.core.tensor.TensorCodec#dequantize} (one float multiply {@code d * q} per element, as
 * the codec does), so the matmul's arithmetic is defined by the dequantized values alone, whatever path
 * produced them.
 */
final class Dequant {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    private static final boolean VECTOR = F.vectorBitSize() >= 256;
    private static final VectorSpecies<Byte> B = VECTOR
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;
    private static final VectorSpecies<Integer> I = VECTOR
            ? VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize())) : null;
    private static final VectorSpecies<Short> S = VECTOR
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2)) : null;
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Dequant() {
    }

    /** dst[dstOff .. dstOff + cols) = row {@code row} of {@code w} as floats. */
    static void row(WeightMatrix w, int row, float[] dst, int dstOff) {
        MemorySegment s = w.segment();
        long o = w.rowOffset(row);
        int n = w.cols();
        if (!VECTOR) {
            w.dequantizeRow(row, dst, dstOff);
            return;
        }
        switch (w.type()) {
            case F32 -> MemorySegment.copy(s, LE_FLOAT, o, dst, dstOff, n);
            case Q8_0 -> q8_0(s, o, dst, dstOff, n);
            case Q4_0 -> q4_0(s, o, dst, dstOff, n);
            case BF16 -> bf16(s, o, dst, dstOff, n);
            case Q4_K -> {
                if (L == 16) q4_k(s, o, dst, dstOff, n);
                else w.dequantizeRow(row, dst, dstOff);
            }
            case Q6_K -> {
                if (L == 16) q6_k(s, o, dst, dstOff, n);
                else w.dequantizeRow(row, dst, dstOff);
            }
            default -> w.dequantizeRow(row, dst, dstOff);
        }
    }

    static void q8_0(MemorySegment s, long off, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = off + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(s.get(LE_SHORT, o)));
            int y = dstOff + 32 * b;
            for (int j = 0; j < 32; j += L) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, s, o + 2 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0);
                q.mul(d).intoArray(dst, y + j);
            }
        }
    }

    static void q4_0(MemorySegment s, long off, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = off + 18L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(s.get(LE_SHORT, o)));
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j += L) {
                IntVector q = bytesToInts(s, o + 2 + j);
                q.and(0x0F).sub(8).convert(VectorOperators.I2F, 0).reinterpretAsFloats().mul(d).intoArray(dst, y + j);
                q.lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8).convert(VectorOperators.I2F, 0)
                        .reinterpretAsFloats().mul(d).intoArray(dst, y + j + 16);
            }
        }
    }

    /**
     * Loads L bytes as L int lanes. Nibble arithmetic is done on ints: the Vector API's byte shifts have no
     * x86 instruction and measured several times slower than widening first.
     */
    private static IntVector bytesToInts(MemorySegment s, long o) {
        return (IntVector) ByteVector.fromMemorySegment(B, s, o, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2I, I, 0);
    }

    private static final ValueLayout.OfLong LE_LONG =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ThreadLocal<float[]> K_SCALES = ThreadLocal.withInitial(() -> new float[16]);

    /**
     * Q4_K (256-element super-blocks of 144 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes
     * of nibbles), 16 lanes: {@code d*sc * q - dmin*m}, a multiply then a subtract, as the codec computes it.
     * Each 32 bytes of nibbles hold 64 elements: low nibbles the first 32, high nibbles the next 32.
     */
    static void q4_k(MemorySegment s, long off, float[] dst, int dstOff, int n) {
        float[] dm = K_SCALES.get(); // d*sc of sub-block j at [j], dmin*m at [8 + j]
        for (int b = 0; b < n / 256; b++) {
            long o = off + 144L * b;
            q4kScales(s, o, dm);
            int y = dstOff + 256 * b;
            for (int g = 0; g < 4; g++) {
                FloatVector dLo = FloatVector.broadcast(F, dm[2 * g]), mLo = FloatVector.broadcast(F, dm[8 + 2 * g]);
                FloatVector dHi = FloatVector.broadcast(F, dm[2 * g + 1]), mHi = FloatVector.broadcast(F, dm[8 + 2 * g + 1]);
                for (int l = 0; l < 32; l += 16) {
                    IntVector q = bytesToInts(s, o + 16 + 32L * g + l);
                    ((FloatVector) q.and(0x0F).convert(VectorOperators.I2F, 0)).mul(dLo).sub(mLo)
                            .intoArray(dst, y + 64 * g + l);
                    ((FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0F).convert(VectorOperators.I2F, 0))
                            .mul(dHi).sub(mHi).intoArray(dst, y + 64 * g + 32 + l);
                }
            }
        }
    }

    /** Super-block o's eight d*sc at dm[0..8) and dmin*m at dm[8..16) (ggml get_scale_min_k4), as the codec. */
    private static void q4kScales(MemorySegment s, long o, float[] dm) {
        float d = Float.float16ToFloat(s.get(LE_SHORT, o));
        float dmin = Float.float16ToFloat(s.get(LE_SHORT, o + 2));
        long b07 = s.get(LE_LONG, o + 4);  // packed bytes 0..7
        int b811 = s.get(LE_INT, o + 12);  // packed bytes 8..11
        for (int j = 0; j < 4; j++) {
            int scLow = (int) (b07 >>> (8 * j)) & 0xFF, mLow = (int) (b07 >>> (8 * j + 32)) & 0xFF;
            int packed = (b811 >>> (8 * j)) & 0xFF;
            dm[j] = d * (scLow & 63);
            dm[8 + j] = dmin * (mLow & 63);
            dm[j + 4] = d * ((packed & 0x0F) | ((scLow >>> 6) << 4));
            dm[8 + j + 4] = dmin * ((packed >>> 4) | ((mLow >>> 6) << 4));
        }
    }

    /**
     * One Q4_K row times one activation row, decoded in registers: the floats of {@link #q4_k} into one FMA chain
     * in element order, exactly the scratch kernels' recipe, so results match theirs bit for bit. Without it a
     * batch-1 step decoded every row into a scratch and read it back (~4x slower). The chain is left in acc[0..16).
     */
    static void q4_kx1(MemorySegment s, long off, int n, float[] x, int xOff, float[] acc) {
        float[] dm = K_SCALES.get();
        FloatVector a = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = off + 144L * b;
            q4kScales(s, o, dm);
            int xb = xOff + 256 * b;
            for (int g = 0; g < 4; g++) {
                IntVector q0 = bytesToInts(s, o + 16 + 32L * g), q1 = bytesToInts(s, o + 32 + 32L * g);
                FloatVector dv = FloatVector.broadcast(F, dm[2 * g]), mv = FloatVector.broadcast(F, dm[8 + 2 * g]);
                a = ((FloatVector) q0.and(0x0F).convert(VectorOperators.I2F, 0)).mul(dv).sub(mv)
                        .fma(FloatVector.fromArray(F, x, xb + 64 * g), a);
                a = ((FloatVector) q1.and(0x0F).convert(VectorOperators.I2F, 0)).mul(dv).sub(mv)
                        .fma(FloatVector.fromArray(F, x, xb + 64 * g + 16), a);
                dv = FloatVector.broadcast(F, dm[2 * g + 1]);
                mv = FloatVector.broadcast(F, dm[8 + 2 * g + 1]);
                a = ((FloatVector) q0.lanewise(VectorOperators.ASHR, 4).and(0x0F).convert(VectorOperators.I2F, 0))
                        .mul(dv).sub(mv).fma(FloatVector.fromArray(F, x, xb + 64 * g + 32), a);
                a = ((FloatVector) q1.lanewise(VectorOperators.ASHR, 4).and(0x0F).convert(VectorOperators.I2F, 0))
                        .mul(dv).sub(mv).fma(FloatVector.fromArray(F, x, xb + 64 * g + 48), a);
            }
        }
        a.intoArray(acc, 0);
    }

    /** Q6_K counterpart of {@link #q4_kx1}: the floats of {@link #q6_k}, one FMA chain in element order. */
    static void q6_kx1(MemorySegment s, long off, int n, float[] x, int xOff, float[] acc) {
        float[] sc = K_SCALES.get();
        FloatVector a = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = off + 210L * b;
            float d = Float.float16ToFloat(s.get(LE_SHORT, o + 208));
            for (int i = 0; i < 16; i++) sc[i] = d * s.get(ValueLayout.JAVA_BYTE, o + 192 + i);
            for (int h = 0; h < 2; h++) {
                long ql = o + 64L * h, qh = o + 128 + 32L * h;
                int xh = xOff + 256 * b + 128 * h;
                for (int e = 0; e < 8; e++) { // element order: quarter e/2, chunk l = 16 * (e % 2)
                    int quarter = e >> 1, l = 16 * (e & 1);
                    IntVector low4 = bytesToInts(s, ql + l + 32 * (quarter & 1))
                            .lanewise(VectorOperators.ASHR, 4 * (quarter >> 1)).and(0x0F);
                    IntVector high2 = bytesToInts(s, qh + l).lanewise(VectorOperators.ASHR, 2 * quarter).and(3);
                    IntVector q = low4.or(high2.lanewise(VectorOperators.LSHL, 4)).sub(32);
                    a = ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(sc[8 * h + l / 16 + 2 * quarter])
                            .fma(FloatVector.fromArray(F, x, xh + 32 * quarter + l), a);
                }
            }
        }
        a.intoArray(acc, 0);
    }

    /** Whether {@link #q4_kx1} / {@link #q6_kx1} can serve this type (they are written for 16 lanes). */
    static boolean fusedK(GgmlType type) {
        return L == 16 && (type == GgmlType.Q4_K || type == GgmlType.Q6_K);
    }

    /**
     * Q6_K (256 elements in 210 bytes: ql[128], qh[64], int8 scales[16], fp16 d), 16 lanes: {@code (d*sc) * (q -
     * 32)} as the codec computes it. Per 128-element half, element l (0..31) and its quarters take the low or high
     * nibble of ql[l] / ql[l+32] and bit pair 0..3 of qh[l]; one scale per 16 elements.
     */
    static void q6_k(MemorySegment s, long off, float[] dst, int dstOff, int n) {
        float[] sc = K_SCALES.get();
        for (int b = 0; b < n / 256; b++) {
            long o = off + 210L * b;
            float d = Float.float16ToFloat(s.get(LE_SHORT, o + 208));
            for (int i = 0; i < 16; i++) sc[i] = d * s.get(ValueLayout.JAVA_BYTE, o + 192 + i);
            for (int h = 0; h < 2; h++) {
                long ql = o + 64L * h, qh = o + 128 + 32L * h;
                int y = dstOff + 256 * b + 128 * h;
                for (int l = 0; l < 32; l += 16) {
                    // One quarter per iteration (not four calls): four inlined copies exceeded C2's node budget
                    // and left vectors boxed (40x slower).
                    for (int quarter = 0; quarter < 4; quarter++) {
                        IntVector low4 = bytesToInts(s, ql + l + 32 * (quarter & 1))
                                .lanewise(VectorOperators.ASHR, 4 * (quarter >> 1)).and(0x0F);
                        IntVector high2 = bytesToInts(s, qh + l).lanewise(VectorOperators.ASHR, 2 * quarter).and(3);
                        IntVector q = low4.or(high2.lanewise(VectorOperators.LSHL, 4)).sub(32);
                        ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(sc[8 * h + l / 16 + 2 * quarter])
                                .intoArray(dst, y + 32 * quarter + l);
                    }
                }
            }
        }
    }

    /** bf16 is the top half of an fp32: widen and shift, exact. */
    static void bf16(MemorySegment s, long off, float[] dst, int dstOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            IntVector v = (IntVector) ShortVector.fromMemorySegment(S, s, off + 2L * i, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, IntVector.SPECIES_PREFERRED, 0);
            v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = Float.intBitsToFloat((s.get(LE_SHORT, off + 2L * i) & 0xFFFF) << 16);
        }
    }

    /** Whether {@link #q8_0x1} / {@link #q4_0x1} can serve this type. */
    static boolean fused(GgmlType type) {
        return VECTOR && (type == GgmlType.Q8_0 || type == GgmlType.Q4_0);
    }

    /**
     * One Q8_0 row times one activation row without a scratch, reading the row strictly in order (the hardware
     * prefetchers stream it; interleaving several rows measured 3x slower from memory). The same floats as
     * {@link #q8_0} ({@code q * d}) go into the same single FMA chain, in the same order, as {@link MatMul}'s
     * scratch kernels use. The chain is left in {@code acc[0 .. L)}.
     */
    static void q8_0x1(MemorySegment s, long off, int n, float[] x, int xOff, float[] acc) {
        FloatVector a = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = off + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(s.get(LE_SHORT, o)));
            int xb = xOff + 32 * b;
            for (int j = 0; j < 32; j += L) {
                a = b2f(s, o + 2 + j).mul(d).fma(FloatVector.fromArray(F, x, xb + j), a);
            }
        }
        a.intoArray(acc, 0);
    }

    /** Q4_0 counterpart of {@link #q8_0x1}: elements 0..15 of a block are low nibbles, 16..31 high ones. */
    static void q4_0x1(MemorySegment s, long off, int n, float[] x, int xOff, float[] acc) {
        FloatVector a = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = off + 18L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(s.get(LE_SHORT, o)));
            int xb = xOff + 32 * b;
            if (L == 16) {
                IntVector q = bytesToInts(s, o + 2);
                FloatVector lo = (FloatVector) q.and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8)
                        .convert(VectorOperators.I2F, 0);
                a = lo.mul(d).fma(FloatVector.fromArray(F, x, xb), a);
                a = hi.mul(d).fma(FloatVector.fromArray(F, x, xb + 16), a);
            } else {
                for (int j = 0; j < 16; j += L) a = lo(s, o + 2 + j).mul(d).fma(FloatVector.fromArray(F, x, xb + j), a);
                for (int j = 0; j < 16; j += L) a = hi(s, o + 2 + j).mul(d).fma(FloatVector.fromArray(F, x, xb + 16 + j), a);
            }
        }
        a.intoArray(acc, 0);
    }

    /** L bytes at q[o..] zero-extended to ints (0..255). */
    static IntVector u2i(byte[] q, int o) {
        return (IntVector) ByteVector.fromArray(B, q, o).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /** L signed bytes at q[o..] as floats. */
    static FloatVector b2f(byte[] q, int o) {
        return (FloatVector) ByteVector.fromArray(B, q, o).convertShape(VectorOperators.B2F, F, 0);
    }

    private static FloatVector b2f(MemorySegment s, long o) {
        return (FloatVector) ByteVector.fromMemorySegment(B, s, o, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2F, F, 0);
    }

    private static FloatVector lo(MemorySegment s, long o) {
        return (FloatVector) bytesToInts(s, o).and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
    }

    private static FloatVector hi(MemorySegment s, long o) {
        return (FloatVector) bytesToInts(s, o).lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8)
                .convert(VectorOperators.I2F, 0);
    }
}
