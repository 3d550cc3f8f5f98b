package io.conduit.core.tensor;

import static io.conduit.core.tensor.Codecs.F;
import static io.conduit.core.tensor.Codecs.LANES;
import static io.conduit.core.tensor.Codecs.LE_SHORT;
import static io.conduit.core.tensor.Codecs.S;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** bfloat16: the upper 16 bits of an fp32, so widening is a 16-bit left shift. */
final class BF16Codec implements TensorCodec {
    static final BF16Codec INSTANCE = new BF16Codec();
    // Must be a constant: a species computed inside the loop keeps C2 from intrinsifying the conversion (3x slower than scalar).
    private static final VectorSpecies<Integer> I = Codecs.VECTORIZE ? F.withLanes(int.class) : null;

    private BF16Codec() {}

    static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** ggml's fp32 to bf16: round to nearest even; NaN keeps its sign and top payload bits and is made quiet. */
    static short fromFloat(float v) {
        int u = Float.floatToRawIntBits(v);
        if ((u & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((u >>> 16) | 0x40);
        }
        return (short) ((u + 0x7FFF + ((u >>> 16) & 1)) >>> 16);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        Codecs.checkCount(GgmlType.BF16, n);
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = toFloat(src.get(LE_SHORT, byteOffset + 2L * i));
        }
    }

    @Override
    public float dot(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.BF16, n);
        int i = 0;
        float sum = 0f;
        if (Codecs.VECTORIZE) {
            FloatVector acc = FloatVector.zero(F);
            for (int upper = n - LANES; i <= upper; i += LANES) {
                // Sign extension by S2I is harmless: the shift pushes those bits out.
                FloatVector wv = ((IntVector) ShortVector.fromMemorySegment(S, w, byteOffset + 2L * i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats();
                acc = wv.fma(FloatVector.fromArray(F, x, xOff + i), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += toFloat(w.get(LE_SHORT, byteOffset + 2L * i)) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public float dotReference(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.BF16, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += (double) toFloat(w.get(LE_SHORT, byteOffset + 2L * i)) * x[xOff + i];
        }
        return (float) sum;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        Codecs.checkCount(GgmlType.BF16, n);
        for (int i = 0; i < n; i++) {
            dst.set(LE_SHORT, byteOffset + 2L * i, fromFloat(src[srcOff + i]));
        }
    }
}
