package io.conduit.core.tensor;

import static io.conduit.core.tensor.Codecs.B;
import static io.conduit.core.tensor.Codecs.BYTE;
import static io.conduit.core.tensor.Codecs.F;
import static io.conduit.core.tensor.Codecs.LANES;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * ggml block_q4_K: 256 elements in 144 bytes: {@code fp16 d; fp16 dmin; uint8 scales[12]; uint8 qs[128]}.
 * Eight sub-blocks of 32 have a 6-bit scale sc and 6-bit min m (packed as in ggml's get_scale_min_k4);
 * value = d*sc*q - dmin*m. Each 32 bytes of qs hold 64 elements: low nibbles the first 32, high nibbles the next 32.
 */
final class Q4_KCodec implements TensorCodec {
    static final Q4_KCodec INSTANCE = new Q4_KCodec();
    static final int QK = 256;
    static final int BLOCK_BYTES = 144;
    private static final int SCALES = 4;
    private static final int QS = 16;

    private Q4_KCodec() {}

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /** ggml get_scale_min_k4: sub-block j's 6-bit scale (sm[0]) and min (sm[1]) from the 12 packed bytes at off. */
    static void scaleMin(MemorySegment s, long off, int j, int[] sm) {
        if (j < 4) {
            sm[0] = s.get(BYTE, off + j) & 63;
            sm[1] = s.get(BYTE, off + j + 4) & 63;
        } else {
            int hi = s.get(BYTE, off + j + 4) & 0xFF;
            sm[0] = (hi & 0x0F) | (((s.get(BYTE, off + j - 4) & 0xFF) >>> 6) << 4);
            sm[1] = (hi >>> 4) | (((s.get(BYTE, off + j) & 0xFF) >>> 6) << 4);
        }
    }

    /**
     * Decodes the eight sub-block scales (times d) and mins (times dmin) of the super-block at o: the same
     * unpacking as {@link #scaleMin}, from two wide loads instead of 24 byte reads (that was the bottleneck of dot).
     */
    private static void scales(MemorySegment s, long o, float[] ds, float[] ms) {
        float d = Codecs.fp16(s, o);
        float dmin = Codecs.fp16(s, o + 2);
        long b03 = s.get(Codecs.LE_LONG, o + SCALES);      // packed bytes 0..7
        int b811 = s.get(Codecs.LE_INT, o + SCALES + 8);   // packed bytes 8..11
        for (int j = 0; j < 4; j++) {
            int scLow = (int) (b03 >>> (8 * j)) & 0xFF;          // byte j
            int mLow = (int) (b03 >>> (8 * j + 32)) & 0xFF;      // byte j+4
            int packed = (b811 >>> (8 * j)) & 0xFF;              // byte j+8
            ds[j] = d * (scLow & 63);
            ms[j] = dmin * (mLow & 63);
            ds[j + 4] = d * ((packed & 0x0F) | ((scLow >>> 6) << 4));
            ms[j + 4] = dmin * ((packed >>> 4) | ((mLow >>> 6) << 4));
        }
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        Codecs.checkCount(GgmlType.Q4_K, n);
        float[] ds = new float[8];
        float[] ms = new float[8];
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            scales(src, o, ds, ms);
            int y = dstOff + b * QK;
            for (int g = 0; g < 4; g++) {
                long q = o + QS + 32L * g;
                for (int l = 0; l < 32; l++) {
                    int v = src.get(BYTE, q + l) & 0xFF;
                    dst[y + 64 * g + l] = ds[2 * g] * (v & 0x0F) - ms[2 * g];
                    dst[y + 64 * g + 32 + l] = ds[2 * g + 1] * (v >>> 4) - ms[2 * g + 1];
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.Q4_K, n);
        if (!Codecs.VECTORIZE) {
            return dotReference(w, byteOffset, x, xOff, n);
        }
        // sum(d*sc*q*x - dmin*m*x) = sum over sub-blocks of d*sc*sum(q*x) - dmin*m*sum(x): the two inner
        // sums stay in vectors and are scaled in once per sub-block.
        float[] ds = new float[8];
        float[] ms = new float[8];
        FloatVector acc = FloatVector.zero(F);
        FloatVector accMin = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            scales(w, o, ds, ms);
            for (int g = 0; g < 4; g++) {
                long q = o + QS + 32L * g;
                int xi = xOff + b * QK + 64 * g;
                FloatVector qxLo = FloatVector.zero(F);
                FloatVector qxHi = FloatVector.zero(F);
                FloatVector xLo = FloatVector.zero(F);
                FloatVector xHi = FloatVector.zero(F);
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector v = ByteVector.fromMemorySegment(B, w, q + l, ByteOrder.LITTLE_ENDIAN);
                    FloatVector lo = (FloatVector) v.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0);
                    FloatVector hi = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                    FloatVector xa = FloatVector.fromArray(F, x, xi + l);
                    FloatVector xb = FloatVector.fromArray(F, x, xi + 32 + l);
                    qxLo = lo.fma(xa, qxLo);
                    qxHi = hi.fma(xb, qxHi);
                    xLo = xLo.add(xa);
                    xHi = xHi.add(xb);
                }
                acc = qxLo.fma(FloatVector.broadcast(F, ds[2 * g]), acc);
                acc = qxHi.fma(FloatVector.broadcast(F, ds[2 * g + 1]), acc);
                accMin = xLo.fma(FloatVector.broadcast(F, ms[2 * g]), accMin);
                accMin = xHi.fma(FloatVector.broadcast(F, ms[2 * g + 1]), accMin);
            }
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public float dotReference(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.Q4_K, n);
        float[] ds = new float[8];
        float[] ms = new float[8];
        double sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            scales(w, o, ds, ms);
            int y = xOff + b * QK;
            for (int g = 0; g < 4; g++) {
                long q = o + QS + 32L * g;
                for (int l = 0; l < 32; l++) {
                    int v = w.get(BYTE, q + l) & 0xFF;
                    sum += (double) (ds[2 * g] * (v & 0x0F) - ms[2 * g]) * x[y + 64 * g + l];
                    sum += (double) (ds[2 * g + 1] * (v >>> 4) - ms[2 * g + 1]) * x[y + 64 * g + 32 + l];
                }
            }
        }
        return (float) sum;
    }

    /**
     * Follows ggml quantize_row_q4_K_ref: per sub-block a weighted least-squares fit of scale and min
     * (make_qkx2_quants), then both quantized to 6 bits relative to the largest, then the elements
     * re-quantized against the stored (fp16-rounded) scales.
     */
    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        Codecs.checkCount(GgmlType.Q4_K, n);
        int[] all = new int[QK];
        int[] laux = new int[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        int[] sm = new int[2];
        float[] minOut = new float[1];
        for (int b = 0; b < n / QK; b++) {
            int xb = srcOff + b * QK;
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) sumX2 += src[xb + 32 * j + l] * src[xb + 32 * j + l];
                float avX = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) weights[l] = avX + Math.abs(src[xb + 32 * j + l]);
                scales[j] = KQuants.makeQkx2Quants(32, 15, src, xb + 32 * j, weights, all, 32 * j, minOut, laux,
                        -1f, 0.1f, 20);
                mins[j] = minOut[0];
                maxScale = Math.max(maxScale, scales[j]);
                maxMin = Math.max(maxMin, mins[j]);
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            byte[] packed = new byte[12];
            for (int j = 0; j < 8; j++) {
                int ls = Math.min(63, Codecs.nearestInt(invScale * scales[j]) & 0xFF);
                int lm = Math.min(63, Codecs.nearestInt(invMin * mins[j]) & 0xFF);
                if (j < 4) {
                    packed[j] = (byte) ls;
                    packed[j + 4] = (byte) lm;
                } else {
                    packed[j + 4] = (byte) ((ls & 0x0F) | ((lm & 0x0F) << 4));
                    packed[j - 4] |= (byte) ((ls >>> 4) << 6);
                    packed[j] |= (byte) ((lm >>> 4) << 6);
                }
            }
            Codecs.putFp16(dst, o, maxScale / 63f);
            Codecs.putFp16(dst, o + 2, maxMin / 63f);
            MemorySegment.copy(packed, 0, dst, BYTE, o + SCALES, 12);
            float d = Codecs.fp16(dst, o);
            float dmin = Codecs.fp16(dst, o + 2);
            for (int j = 0; j < 8; j++) {
                scaleMin(dst, o + SCALES, j, sm);
                float dj = d * sm[0];
                if (dj == 0f) continue;
                float mj = dmin * sm[1];
                for (int l = 0; l < 32; l++) {
                    int q = Codecs.nearestInt((src[xb + 32 * j + l] + mj) / dj);
                    all[32 * j + l] = Math.max(0, Math.min(15, q));
                }
            }
            for (int g = 0; g < 4; g++) {
                for (int l = 0; l < 32; l++) {
                    dst.set(BYTE, o + QS + 32L * g + l, (byte) (all[64 * g + l] | (all[64 * g + 32 + l] << 4)));
                }
            }
        }
    }
}
