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
 * ggml block_q4_0: 32 elements in 18 bytes, {@code fp16 d; uint8 qs[16]}. Element j (0..15) is the low
 * nibble of qs[j], element j+16 its high nibble; value = d * (nibble - 8).
 */
final class Q4_0Codec implements TensorCodec {
    static final Q4_0Codec INSTANCE = new Q4_0Codec();
    static final int QK = 32;
    static final int BLOCK_BYTES = 18;

    private Q4_0Codec() {}

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        Codecs.checkCount(GgmlType.Q4_0, n);
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float d = Codecs.fp16(src, o);
            int y = dstOff + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = src.get(BYTE, o + 2 + j) & 0xFF;
                dst[y + j] = d * ((q & 0x0F) - 8);
                dst[y + j + QK / 2] = d * ((q >>> 4) - 8);
            }
        }
    }

    @Override
    public float dot(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.Q4_0, n);
        if (!Codecs.VECTORIZE) {
            return dotReference(w, byteOffset, x, xOff, n);
        }
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK;
            FloatVector blk = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += LANES) { // LANES is 8 or 16, so it divides the 16 bytes
                ByteVector q = ByteVector.fromMemorySegment(B, w, o + 2 + j, ByteOrder.LITTLE_ENDIAN);
                FloatVector lo = (FloatVector) q.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)
                        .convertShape(VectorOperators.B2F, F, 0);
                blk = lo.fma(FloatVector.fromArray(F, x, xi + j), blk);
                blk = hi.fma(FloatVector.fromArray(F, x, xi + j + QK / 2), blk);
            }
            acc = blk.fma(FloatVector.broadcast(F, Codecs.fp16(w, o)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public float dotReference(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.Q4_0, n);
        double sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float d = Codecs.fp16(w, o);
            int xi = xOff + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = w.get(BYTE, o + 2 + j) & 0xFF;
                sum += (double) (d * ((q & 0x0F) - 8)) * x[xi + j];
                sum += (double) (d * ((q >>> 4) - 8)) * x[xi + j + QK / 2];
            }
        }
        return (float) sum;
    }

    /**
     * ggml quantize_row_q4_0_ref: d = (signed value of largest magnitude) / -8, so that element maps to
     * nibble 0 exactly and the rest land in 0..15 (clamped at 15 for the opposite extreme).
     */
    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        Codecs.checkCount(GgmlType.Q4_0, n);
        for (int b = 0; b < n / QK; b++) {
            int xi = srcOff + b * QK;
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < QK; j++) {
                float v = src[xi + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0f ? 1.0f / d : 0.0f;
            Codecs.putFp16(dst, o, d);
            for (int j = 0; j < QK / 2; j++) {
                // C truncates (int8_t)(x + 8.5f) toward zero; x + 8.5 >= 0.5 here, so (int) does the same.
                int q0 = Math.min(15, (byte) (int) (src[xi + j] * id + 8.5f));
                int q1 = Math.min(15, (byte) (int) (src[xi + j + QK / 2] * id + 8.5f));
                dst.set(BYTE, o + 2 + j, (byte) (q0 | (q1 << 4)));
            }
        }
    }
}
