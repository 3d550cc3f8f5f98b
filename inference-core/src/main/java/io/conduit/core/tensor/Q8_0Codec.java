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
 * ggml block_q8_0: 32 elements in 34 bytes, {@code fp16 d; int8 qs[32]}, element j = d * qs[j].
 */
final class Q8_0Codec implements TensorCodec {
    static final Q8_0Codec INSTANCE = new Q8_0Codec();
    static final int QK = 32;
    static final int BLOCK_BYTES = 34;

    private Q8_0Codec() {}

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        Codecs.checkCount(GgmlType.Q8_0, n);
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float d = Codecs.fp16(src, o);
            int y = dstOff + b * QK;
            for (int j = 0; j < QK; j++) {
                dst[y + j] = d * src.get(BYTE, o + 2 + j);
            }
        }
    }

    @Override
    public float dot(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        if (!Codecs.VECTORIZE) {
            return dotScalar(w, byteOffset, x, xOff, n);
        }
        Codecs.checkCount(GgmlType.Q8_0, n);
        // Per block: sum q*x in a vector, then scale that vector by d into the running sum, so there is
        // no horizontal reduction until the very end.
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK;
            FloatVector blk = FloatVector.zero(F);
            for (int j = 0; j < QK; j += LANES) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, w, o + 2 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0);
                blk = q.fma(FloatVector.fromArray(F, x, xi + j), blk);
            }
            acc = blk.fma(FloatVector.broadcast(F, Codecs.fp16(w, o)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Used where the machine's vectors are too narrow for the widening loads. */
    private float dotScalar(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.Q8_0, n);
        float sum = 0f;
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK;
            float s = 0f;
            for (int j = 0; j < QK; j++) {
                s += w.get(BYTE, o + 2 + j) * x[xi + j];
            }
            sum += Codecs.fp16(w, o) * s;
        }
        return sum;
    }

    @Override
    public float dotReference(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.Q8_0, n);
        double sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float d = Codecs.fp16(w, o);
            for (int j = 0; j < QK; j++) {
                sum += (double) (d * w.get(BYTE, o + 2 + j)) * x[xOff + b * QK + j];
            }
        }
        return (float) sum;
    }

    /** ggml quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d). */
    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        Codecs.checkCount(GgmlType.Q8_0, n);
        for (int b = 0; b < n / QK; b++) {
            int xi = srcOff + b * QK;
            long o = byteOffset + (long) b * BLOCK_BYTES;
            float amax = 0f;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(src[xi + j]));
            }
            float d = amax / 127;
            float id = d != 0f ? 1.0f / d : 0.0f;
            Codecs.putFp16(dst, o, d);
            for (int j = 0; j < QK; j++) {
                dst.set(BYTE, o + 2 + j, (byte) (int) Codecs.roundf(src[xi + j] * id));
            }
        }
    }
}
