package io.conduit.core.tensor;

import static io.conduit.core.tensor.Codecs.F;
import static io.conduit.core.tensor.Codecs.LANES;
import static io.conduit.core.tensor.Codecs.LE_FLOAT;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Plain little-endian IEEE fp32. */
final class F32Codec implements TensorCodec {
    static final F32Codec INSTANCE = new F32Codec();

    private F32Codec() {}

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        Codecs.checkCount(GgmlType.F32, n);
        MemorySegment.copy(src, LE_FLOAT, byteOffset, dst, dstOff, n);
    }

    @Override
    public float dot(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.F32, n);
        int i = 0;
        float sum = 0f;
        if (Codecs.VECTORIZE) {
            // Two accumulators hide the FMA latency; the loop is otherwise bound by memory bandwidth.
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            for (int upper = n - 2 * LANES; i <= upper; i += 2 * LANES) {
                long o = byteOffset + 4L * i;
                acc0 = FloatVector.fromMemorySegment(F, w, o, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(F, x, xOff + i), acc0);
                acc1 = FloatVector.fromMemorySegment(F, w, o + 4L * LANES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(F, x, xOff + i + LANES), acc1);
            }
            sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += w.get(LE_FLOAT, byteOffset + 4L * i) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public float dotReference(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.F32, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += (double) w.get(LE_FLOAT, byteOffset + 4L * i) * x[xOff + i];
        }
        return (float) sum;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        Codecs.checkCount(GgmlType.F32, n);
        MemorySegment.copy(src, srcOff, dst, LE_FLOAT, byteOffset, n);
    }
}
