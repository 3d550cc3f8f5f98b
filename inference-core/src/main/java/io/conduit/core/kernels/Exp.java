package io.conduit.core.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x in float, built only from operations that round the same way in a vector lane and in scalar code
 * (min/max, fma, add, sub, mul and integer bit moves), so {@link #exp(FloatVector)} gives every lane exactly
 * the bits {@link #exp(float)} gives that value, whether the code runs interpreted, in C1 or in C2. That is
 * what lets a kernel vectorize a row and finish its tail in scalar code without an element's result depending
 * on where it sits in the row. {@code VectorOperators.EXP} does not promise that (C2 calls a vector math
 * library, the fallback {@code Math.exp} per lane).
 *
 * <p>Recipe: clamp x to [-104, 89] (beyond it e^x rounds to 0 or overflows to infinity either way; NaN stays
 * NaN); n = round(x / ln2) by the add-a-magic-number trick; r = x - n ln2 with ln2 split in two (Cody-Waite),
 * |r| <= ln2/2; e^r by its degree-7 Taylor polynomial (truncation error below 6e-9 relative); then the result
 * is scaled by 2^n in two exact power-of-two steps, so that subnormal results are rounded once and n up to
 * 128 does not overflow the exponent field. Max error against {@link Math#exp}: see {@code ExpTest}.
 */
public final class Exp {
    static final float MIN_X = -104f;
    static final float MAX_X = 89f;
    private static final float LOG2E = 0x1.715476p+0f;
    private static final float MAGIC = 0x1.8p23f;
    private static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);
    /** ln2 = LN2_HI + LN2_LO; LN2_HI has few enough bits that n * LN2_HI is exact for |n| <= 150. */
    private static final float LN2_HI = 0x1.62e4p-1f;
    private static final float LN2_LO = 0x1.7f7d1cp-20f;
    private static final float C2 = 1f / 2;
    private static final float C3 = (float) (1.0 / 6);
    private static final float C4 = (float) (1.0 / 24);
    private static final float C5 = (float) (1.0 / 120);
    private static final float C6 = (float) (1.0 / 720);
    private static final float C7 = (float) (1.0 / 5040);

    private Exp() {
    }

    /** The scalar recipe. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, MIN_X), MAX_X);
        float z = Math.fma(x, LOG2E, MAGIC);
        float n = z - MAGIC;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int ni = Float.floatToRawIntBits(z) - MAGIC_BITS;
        int n1 = ni >> 1;
        int n2 = ni - n1;
        return p * Float.intBitsToFloat((n1 + 127) << 23) * Float.intBitsToFloat((n2 + 127) << 23);
    }

    /** The same recipe in every lane. */
    public static FloatVector exp(FloatVector x) {
        x = x.max(MIN_X).min(MAX_X);
        FloatVector z = x.fma(LOG2E, MAGIC);
        FloatVector n = z.sub(MAGIC);
        FloatVector r = n.fma(n.broadcast(-LN2_HI), x);
        r = n.fma(n.broadcast(-LN2_LO), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, p.broadcast(C5));
        p = p.fma(r, p.broadcast(C4));
        p = p.fma(r, p.broadcast(C3));
        p = p.fma(r, p.broadcast(C2));
        p = p.fma(r, p.broadcast(1f));
        p = p.fma(r, p.broadcast(1f));
        IntVector ni = ((IntVector) z.reinterpretAsInts()).sub(MAGIC_BITS);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }
}
