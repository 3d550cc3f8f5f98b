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
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** IEEE binary16, converted with Float.float16ToFloat / floatToFloat16 (round to nearest even). */
final class F16Codec implements TensorCodec {
    static final F16Codec INSTANCE = new F16Codec();

    private static final VectorSpecies<Integer> I = Codecs.VECTORIZE ? F.withLanes(int.class) : null;
    private static final int EXP_MASK = 0x7C00 << 13;            // fp16 exponent field, moved to fp32 position
    private static final int EXP_ADJUST = (127 - 15) << 23;       // fp16 bias 15 -> fp32 bias 127
    private static final float SUBNORMAL_MAGIC = Float.intBitsToFloat(113 << 23); // 2^-14

    private F16Codec() {}

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        Codecs.checkCount(GgmlType.F16, n);
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(src.get(LE_SHORT, byteOffset + 2L * i));
        }
    }

    /**
     * Widens fp16 lanes to fp32 with integer ops (the Vector API has no fp16 conversion): move exponent and
     * mantissa into place and rebias; Inf/NaN get the exponent pushed to 255; zeros and subnormals are
     * renormalised by an fp32 subtraction of 2^-14.
     */
    static FloatVector widen(ShortVector h) {
        IntVector v = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector sign = v.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector o = v.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        IntVector exp = o.and(EXP_MASK);
        VectorMask<Integer> infNan = exp.eq(EXP_MASK);
        VectorMask<Integer> tiny = exp.eq(0);
        o = o.add(EXP_ADJUST).add(EXP_ADJUST, infNan).add(1 << 23, tiny);
        FloatVector f = o.reinterpretAsFloats().sub(SUBNORMAL_MAGIC, tiny.cast(F));
        return f.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    @Override
    public float dot(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.F16, n);
        int i = 0;
        float sum = 0f;
        if (Codecs.VECTORIZE) {
            FloatVector acc = FloatVector.zero(F);
            for (int upper = n - LANES; i <= upper; i += LANES) {
                FloatVector wv = widen(ShortVector.fromMemorySegment(S, w, byteOffset + 2L * i, ByteOrder.LITTLE_ENDIAN));
                acc = wv.fma(FloatVector.fromArray(F, x, xOff + i), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += Float.float16ToFloat(w.get(LE_SHORT, byteOffset + 2L * i)) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public float dotReference(MemorySegment w, long byteOffset, float[] x, int xOff, int n) {
        Codecs.checkCount(GgmlType.F16, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += (double) Float.float16ToFloat(w.get(LE_SHORT, byteOffset + 2L * i)) * x[xOff + i];
        }
        return (float) sum;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        Codecs.checkCount(GgmlType.F16, n);
        for (int i = 0; i < n; i++) {
            dst.set(LE_SHORT, byteOffset + 2L * i, Float.floatToFloat16(src[srcOff + i]));
        }
    }
}
