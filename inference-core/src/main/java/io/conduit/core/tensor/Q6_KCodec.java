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
 * ggml block_q6_K: 256 elements in 210 bytes: {@code uint8 ql[128]; uint8 qh[64]; int8 scales[16]; fp16 d}.
 * A 6-bit q is 4 low bits from ql and 2 high bits from qh; value = d * scales[s] * (q - 32), one scale per
 * 16 elements. Per 128-element half (ql += 64, qh += 32, scales += 8), for l in 0..31:
 * <pre>
 *   y[l]    = ql[l]    low nibble | qh[l] bits 0-1   scale is+0
 *   y[l+32] = ql[l+32] low nibble | qh[l] bits 2-3   scale is+2
 *   y[l+64] = ql[l]    high nibble| qh[l] bits 4-5   scale is+4
 *   y[l+96] = ql[l+32] high nibble| qh[l] bits 6-7   scale is+6      (is = l/16)
 * </pre>
 */
final class Q6_KCodec implements TensorCodec {
    static final Q6_KCodec INSTANCE = new Q6_KCodec();
    static final int QK = 256;
    static final int BLOCK_BYTES = 210;
    private static final int QH = 128;
    private static final int SC = 192;
    private static final int D = 208;

    private Q6_KCodec() {}

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    /** The 6-bit value (0..63) of element k (0..127) of the half whose ql/qh start at ql/qh. */
    static int q6(MemorySegment s, long ql, long qh, int k) {
        int l = k & 31;
        int quarter = k >>> 5;                  // 0..3: which of y[l], y[l+32], y[l+64], y[l+96]
        int low = s.get(BYTE, ql + l + ((quarter & 1) << 5)) & 0xFF;
        low = (quarter & 2) == 0 ? low & 0x0F : low >>> 4;
        int high = ((s.get(BYTE, qh + l) & 0xFF) >>> (2 * quarter)) & 3;
        return low | (high << 4);
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        Codecs.checkCount(GgmlType.Q6_K, n);
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float d = Codecs.fp16(src, o + D);
            for (int h = 0; h < 2; h++) {
                long ql = o + 64L * h;
                long qh = o + QH + 32L * h;
                int y = dstOff + b * QK + 128 * h;
                for (int k = 0; k < 128; k++) {
                    int sc = src.get(BYTE, o + SC + 8 * h + k / 16); // k/16 = is + 2*quarter
                    dst[y + k] = d * sc * (q6(src, ql, qh, k) - 32);
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.Q6_K, n);
        if (!Codecs.VECTORIZE) {
            return dotReference(w, byteOffset, x, xOff, n);
        }
        FloatVector acc = FloatVector.zero(F);
        float[] s = new float[16];
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float d = Codecs.fp16(w, o + D);
            for (int i = 0; i < 16; i++) s[i] = d * w.get(BYTE, o + SC + i);
            for (int h = 0; h < 2; h++) {
                long ql = o + 64L * h;
                long qh = o + QH + 32L * h;
                int sc = 8 * h;
                int y = xOff + b * QK + 128 * h;
                // LANES (8 or 16) divides 16, so a chunk never straddles two scales.
                for (int l = 0; l < 32; l += LANES) {
                    int is = sc + l / 16;
                    acc = quarters(w, ql + l, qh + l, 0, x, y + l, s[is], s[is + 4], acc);
                    acc = quarters(w, ql + 32 + l, qh + l, 2, x, y + 32 + l, s[is + 2], s[is + 6], acc);
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * LANES elements of two quarters that share their ql bytes: the low nibbles (with qh bits shift..shift+1)
     * go to x[y..], the high nibbles (qh bits shift+4..shift+5) to x[y+64..]. Kept small on purpose: one big
     * method exceeded C2's inlining node budget and left vector objects boxed (several times slower).
     */
    private static FloatVector quarters(MemorySegment w, long ql, long qh, int shift, float[] x, int y,
                                        float sLow, float sHigh, FloatVector acc) {
        ByteVector q = ByteVector.fromMemorySegment(B, w, ql, ByteOrder.LITTLE_ENDIAN);
        ByteVector h = ByteVector.fromMemorySegment(B, w, qh, ByteOrder.LITTLE_ENDIAN).lanewise(VectorOperators.LSHR, shift);
        ByteVector low = q.and((byte) 0x0F).or(h.and((byte) 0x03).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
        ByteVector high = q.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32);
        // q - 32 lies in -32..31, so it still fits a signed byte before widening.
        FloatVector lowF = (FloatVector) low.convertShape(VectorOperators.B2F, F, 0);
        FloatVector highF = (FloatVector) high.convertShape(VectorOperators.B2F, F, 0);
        acc = lowF.mul(FloatVector.fromArray(F, x, y)).fma(FloatVector.broadcast(F, sLow), acc);
        return highF.mul(FloatVector.fromArray(F, x, y + 64)).fma(FloatVector.broadcast(F, sHigh), acc);
    }

    @Override
    public float dotReference(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.Q6_K, n);
        double sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float d = Codecs.fp16(w, o + D);
            for (int h = 0; h < 2; h++) {
                long ql = o + 64L * h;
                long qh = o + QH + 32L * h;
                int y = xOff + b * QK + 128 * h;
                for (int k = 0; k < 128; k++) {
                    int sc = w.get(BYTE, o + SC + 8 * h + k / 16);
                    sum += (double) (d * sc * (q6(w, ql, qh, k) - 32)) * x[y + k];
                }
            }
        }
        return (float) sum;
    }

    /**
     * Follows ggml quantize_row_q6_K_ref: per 16 elements a scale from make_qx_quants(nmax 32, rmse_type 1),
     * the 16 scales quantized to int8 against the one of largest magnitude (which maps to -128, clamped to
     * 127 on the positive side), then the elements re-quantized against the stored scales.
     */
    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        Codecs.checkCount(GgmlType.Q6_K, n);
        int[] all = new int[QK];
        float[] scales = new float[16];
        for (int b = 0; b < n / QK; b++) {
            int xb = srcOff + b * QK;
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++) {
                float scale = KQuants.makeQxQuants(16, 32, src, xb + 16 * ib, all, 16 * ib);
                scales[ib] = scale;
                if (Math.abs(scale) > maxAbsScale) {
                    maxAbsScale = Math.abs(scale);
                    maxScale = scale;
                }
            }
            if (maxAbsScale < KQuants.GROUP_MAX_EPS) {
                dst.asSlice(o, BLOCK_BYTES).fill((byte) 0);
                continue;
            }
            float iscale = -128f / maxScale;
            Codecs.putFp16(dst, o + D, 1 / iscale);
            for (int ib = 0; ib < 16; ib++) {
                dst.set(BYTE, o + SC + ib, (byte) Math.min(127, Codecs.nearestInt(iscale * scales[ib])));
            }
            float d = Codecs.fp16(dst, o + D);
            for (int j = 0; j < 16; j++) {
                float dj = d * dst.get(BYTE, o + SC + j);
                if (dj == 0f) continue;
                for (int i = 0; i < 16; i++) {
                    int q = Codecs.nearestInt(src[xb + 16 * j + i] / dj);
                    all[16 * j + i] = Math.max(-32, Math.min(31, q)) + 32;
                }
            }
            for (int h = 0; h < 2; h++) {
                long ql = o + 64L * h;
                long qh = o + QH + 32L * h;
                int j = 128 * h;
                for (int l = 0; l < 32; l++) {
                    int a = all[j + l], c = all[j + l + 32], e = all[j + l + 64], f = all[j + l + 96];
                    dst.set(BYTE, ql + l, (byte) ((a & 0x0F) | ((e & 0x0F) << 4)));
                    dst.set(BYTE, ql + 32 + l, (byte) ((c & 0x0F) | ((f & 0x0F) << 4)));
                    dst.set(BYTE, qh + l, (byte) ((a >>> 4) | ((c >>> 4) << 2) | ((e >>> 4) << 4) | ((f >>> 4) << 6)));
                }
            }
        }
    }
}
