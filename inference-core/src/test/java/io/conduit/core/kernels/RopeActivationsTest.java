package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.conduit.core.model.RopeConfig;
import io.conduit.core.model.RopeLayout;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The cached RoPE table and the vectorized, parallel SwiGLU give exactly the bits of their scalar references. */
class RopeActivationsTest {
    @Test
    void cachedRopeEqualsPerCallFormulaAtAnyPositionOrder() {
        for (RopeLayout layout : RopeLayout.values()) {
            Rope rope = new Rope(RopeConfig.plain(10000.0, 48, layout));
            Random rnd = new Random(3);
            for (int pos : new int[]{5, 0, 63, 64, 1000, 7, 4097}) {
                float[] a = new float[3 * 48 + 5];
                for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
                float[] b = a.clone();
                rope.apply(a, 5, 3, 48, pos);
                rope.applyReference(b, 5, 3, 48, pos);
                assertThat(a).as("%s pos %d", layout, pos).containsExactly(b);
            }
        }
    }

    @Test
    void vectorSwiGluEqualsScalarReferenceBitForBitAtOddSizesAndSpecialValues() {
        // Rows of odd length (vector body plus scalar tail), batches above and below the parallel threshold,
        // gates from ExpTest's mix (NaN, infinities, huge, subnormal, any bit pattern); repeated so the kernel
        // runs interpreted, in C1 and in C2.
        for (int round = 0; round < 40; round++) {
            for (int[] shape : new int[][]{{1, 37}, {3, 1029}, {64, 1539}, {5, 7}}) {
                int rows = shape[0], cols = shape[1];
                float[] gate = ExpTest.inputs(round * 7L + cols, rows * cols);
                float[] up = ExpTest.inputs(round * 11L + rows, rows * cols);
                float[] want = gate.clone();
                Activations.swiGluReference(want, up, 0, rows * cols);
                Activations.swiGlu(gate, up, rows, cols);
                for (int i = 0; i < gate.length; i++) {
                    if (Float.floatToRawIntBits(gate[i]) != Float.floatToRawIntBits(want[i])) {
                        assertThat(Integer.toHexString(Float.floatToRawIntBits(gate[i])))
                                .as("round %d, %dx%d, element %d", round, rows, cols, i)
                                .isEqualTo(Integer.toHexString(Float.floatToRawIntBits(want[i])));
                    }
                }
            }
        }
    }

    @Test
    void swiGluStaysCloseToTheMathExpDefinition() {
        int n = 100_003;
        Random rnd = new Random(9);
        float[] gate = new float[n];
        float[] up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (8 * rnd.nextGaussian());
            up[i] = (float) rnd.nextGaussian();
        }
        float[] got = gate.clone();
        Activations.swiGlu(got, up, 1, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double g = gate[i];
            double exact = g / (1 + Math.exp(-g)) * up[i];
            worst = Math.max(worst, Math.abs(got[i] - exact) / Math.ulp((float) exact));
        }
        System.out.printf("SwiGLU max error %.3f ulp%n", worst);
        // exp within 1 ulp, then an add, a divide and a multiply each rounding half an ulp (measured: 2.51).
        assertThat(worst).isLessThan(3.5);
    }

    @Test
    void vectorSoftmaxEqualsScalarReferenceBitForBitAndSumsToOne() {
        Random rnd = new Random(4);
        for (int round = 0; round < 400; round++) {
            int n = 1 + rnd.nextInt(300);
            int off = rnd.nextInt(5);
            float[] v = new float[off + n + 3];
            for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * (round % 4 == 0 ? 300 : 8));
            if (round % 7 == 0) v[off + rnd.nextInt(n)] = Float.NEGATIVE_INFINITY; // a masked-out score
            float[] want = v.clone();
            Activations.softmaxReference(want, off, n, 0.125f, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length());
            Activations.softmax(v, off, n, 0.125f);
            for (int i = 0; i < v.length; i++) {
                assertThat(Float.floatToRawIntBits(v[i])).as("round %d, n %d, element %d", round, n, i)
                        .isEqualTo(Float.floatToRawIntBits(want[i]));
            }
            double sum = 0;
            for (int i = off; i < off + n; i++) sum += v[i];
            assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5 * Math.sqrt(n)));
        }
    }
}
