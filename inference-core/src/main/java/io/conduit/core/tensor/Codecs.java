package io.conduit.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** Shared layouts, species and small helpers of the codecs. */
final class Codecs {
    private Codecs() {}

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();

    /**
     * The vector kernels widen a narrow vector (bytes or shorts, one per float lane) to a float vector. With
     * 128-bit floats the byte vector would have to be 32 bits, which the Vector API has no shape for, so
     * machines without at least 256-bit vectors use the scalar kernels instead.
     */
    static final boolean VECTORIZE = F.vectorBitSize() >= 256;

    /** Species holding one byte per float lane (64-bit bytes for 256-bit floats). */
    static final VectorSpecies<Byte> B = VECTORIZE
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;

    /** Species holding one short per float lane. */
    static final VectorSpecies<Short> S = VECTORIZE
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2)) : null;

    static float fp16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(LE_SHORT, off));
    }

    static void putFp16(MemorySegment s, long off, float v) {
        s.set(LE_SHORT, off, Float.floatToFloat16(v));
    }

    /** The float a value becomes after a round trip through fp16, as ggml re-reads its stored scales. */
    static float roundFp16(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    /** ggml's nearest_int: round half to even (its magic-number trick does exactly that). */
    static int nearestInt(float v) {
        return (int) Math.rint(v);
    }

    /** C's roundf: half away from zero (Math.round would round -2.5 to -2). */
    static float roundf(float v) {
        return (float) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    static void checkCount(GgmlType type, int n) {
        if (n < 0 || n % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " needs a non-negative multiple of " + type.blockSize()
                    + " elements, got " + n);
        }
    }
}
