package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.LaneRows;
import io.conduit.core.tensor.LaneRows.Q4Kernel;
import io.conduit.core.tensor.WeightMatrix;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Q4_0 nibbles times int8 activations ({@link Q4Kernel#INT16}) against the recipe in scalar Java, read from the file
 * layout: activations quantized per block ({@link QuantizedActivations#quantizeBlock}), then per output
 * {@code acc = fma((float) sum (n - 8) q, d_w * d_x, acc)} block by block. Equal bits at every batch, whole and half
 * super-groups, tiles of 8, 4 and 1 tokens; and within the quantization's error bound of the exact product.
 */
class NibbleInt16MatMulTest {
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static Stream<Arguments> shapes() {
        // 300 rows at 16 lanes: two whole super-groups and the first half of a third; 32 x 37 columns: K slices of 16
        // blocks and a partial one.
        return Stream.of(new int[]{5, 32}, new int[]{70, 96}, new int[]{131, 32 * 37}, new int[]{300, 96},
                new int[]{1000, 64}).map(rc -> Arguments.of(rc[0], rc[1]));
    }

    @ParameterizedTest(name = "{0}x{1}")
    @MethodSource("shapes")
    void kernelsFollowTheScalarRecipeBitForBit(int rows, int cols) {
        WeightMatrix w = MatMulTest.random(GgmlType.Q4_0, rows, cols, 13L * rows + cols);
        LaneRows p = copy(w);
        Random rnd = new Random(rows + cols);
        for (int batch : new int[]{1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 29, 45, 64}) {
            float[] x = activations(rnd, batch * cols);
            float[] out = new float[batch * rows];
            LaneMatMul.matmul(new LaneRows[]{p}, x, batch, new float[][]{out});
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    assertThat(Float.floatToRawIntBits(out[t * rows + r]))
                            .as("row %d token %d of batch %d", r, t, batch)
                            .isEqualTo(Float.floatToRawIntBits(recipe(w, r, x, t * cols)));
                }
            }
        }
    }

    /** Q, K and V share one parallel loop: items of three copies, each ending in a half super-group or not. */
    @Test
    void matricesProjectedTogetherEachFollowTheRecipe() {
        int cols = 96;
        int[] rows = {300, 70, 131};
        LaneRows[] ps = new LaneRows[rows.length];
        WeightMatrix[] ws = new WeightMatrix[rows.length];
        for (int m = 0; m < rows.length; m++) {
            ws[m] = MatMulTest.random(GgmlType.Q4_0, rows[m], cols, 37L * m + rows[m]);
            ps[m] = copy(ws[m]);
        }
        Random rnd = new Random(9);
        for (int batch : new int[]{1, 3, 12, 16}) {
            float[] x = activations(rnd, batch * cols);
            float[][] outs = new float[rows.length][];
            for (int m = 0; m < rows.length; m++) outs[m] = new float[batch * rows[m]];
            LaneMatMul.matmul(ps, x, batch, outs);
            for (int m = 0; m < rows.length; m++) {
                for (int t = 0; t < batch; t++) {
                    for (int r = 0; r < rows[m]; r++) {
                        assertThat(Float.floatToRawIntBits(outs[m][t * rows[m] + r]))
                                .as("matrix %d row %d token %d of batch %d", m, r, t, batch)
                                .isEqualTo(Float.floatToRawIntBits(recipe(ws[m], r, x, t * cols)));
                    }
                }
            }
        }
    }

    /**
     * A group mixing a Q4_0 int16 copy with other copies (a Q8_0 and a float-recipe Q4_0) gives each matrix the bits it
     * has when projected alone, at batch 1 and batched.
     */
    @Test
    void aMixedGroupKeepsEachMatrixsRecipe() {
        int cols = 96;
        WeightMatrix q4 = MatMulTest.random(GgmlType.Q4_0, 70, cols, 1), q8 = MatMulTest.random(GgmlType.Q8_0, 40, cols, 2);
        LaneRows[] ps = {copy(q4), LaneRows.pack(q8, Dequant.L, false), LaneRows.pack(q4, Dequant.L, true)};
        Assumptions.assumeTrue(LaneMatMul.runs(ps[1]) && LaneMatMul.runs(ps[2]));
        Random rnd = new Random(8);
        for (int batch : new int[]{1, 16}) {
            float[] x = activations(rnd, batch * cols);
            float[][] outs = new float[3][];
            for (int m = 0; m < 3; m++) outs[m] = new float[batch * ps[m].rows()];
            LaneMatMul.matmul(ps, x, batch, outs);
            for (int m = 0; m < 3; m++) {
                float[] alone = new float[batch * ps[m].rows()];
                LaneMatMul.matmul(new LaneRows[]{ps[m]}, x, batch, new float[][]{alone});
                for (int k = 0; k < alone.length; k++) {
                    assertThat(Float.floatToRawIntBits(outs[m][k])).as("batch %d matrix %d output %d", batch, m, k)
                            .isEqualTo(Float.floatToRawIntBits(alone[k]));
                }
            }
            assertThat(Float.floatToRawIntBits(outs[0][0])).as("int16 and float recipes differ")
                    .isNotEqualTo(Float.floatToRawIntBits(outs[2][0]));
            assertThat(Float.floatToRawIntBits(outs[0][0])).isEqualTo(Float.floatToRawIntBits(recipe(q4, 0, x, 0)));
        }
    }

    /**
     * Each activation moves by at most half a step, {@code d_x / 2 = max|x| / 254} of its block, so an output is within
     * {@code sum_b (max_b|x| / 254) sum_{k in b} |w_k|} (plus float rounding) of the exact product of the same weights.
     */
    @Test
    void outputsStayWithinTheQuantizationBoundOfTheExactProduct() {
        int rows = 200, cols = 512;
        WeightMatrix w = MatMulTest.random(GgmlType.Q4_0, rows, cols, 3);
        LaneRows p = copy(w);
        float[] x = activations(new Random(4), 4 * cols);
        float[] out = new float[4 * rows];
        LaneMatMul.matmul(new LaneRows[]{p}, x, 4, new float[][]{out});
        float[] wr = new float[cols];
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            w.dequantizeRow(r, wr, 0);
            for (int t = 0; t < 4; t++) {
                double exact = 0;
                for (int k = 0; k < cols; k++) exact += (double) wr[k] * x[t * cols + k];
                double err = Math.abs(out[t * rows + r] - exact), bound = io.conduit.core.testing.Int8ActivationBound.of(wr, x, t * cols);
                assertThat(err).as("row %d token %d", r, t).isLessThanOrEqualTo(bound);
                worst = Math.max(worst, err / bound);
            }
        }
        // The bound is reached only when every rounding goes the same way; random data stays far inside it.
        assertThat(worst).isLessThan(0.5);
    }

    @Test
    void quantizedActivationsFollowTheScalarRecipe() {
        Random rnd = new Random(21);
        int cols = 32 * 9;
        float[] x = activations(rnd, cols);
        for (int k = 64; k < 96; k++) x[k] = 0; // an all-zero block: d 0, values 0
        x[100] = 1e-30f; // a tiny block maximum next to ordinary values
        short[] q = new short[cols];
        float[] d = new float[9];
        short[] bias = new short[9];
        QuantizedActivations.quantizeRow(x, 0, 9, q, 0, d, bias, 0);
        int[] ref = new int[32];
        for (int b = 0; b < 9; b++) {
            float rd = QuantizedActivations.quantizeBlock(x, 32 * b, ref);
            assertThat(Float.floatToRawIntBits(d[b])).as("block %d scale", b).isEqualTo(Float.floatToRawIntBits(rd));
            int sum = 0;
            for (int i = 0; i < 32; i++) {
                assertThat(q[32 * b + i]).as("block %d value %d", b, i).isEqualTo((short) ref[i]);
                assertThat(Math.abs(ref[i])).isLessThanOrEqualTo(127);
                sum += ref[i];
            }
            assertThat(bias[b]).isEqualTo((short) (8 * sum));
        }
        assertThat(d[2]).isZero();
        // The block maximum maps to +-127.
        int[] q0 = new int[32];
        QuantizedActivations.quantizeBlock(x, 0, q0);
        int maxAbs = 0;
        for (int v : q0) maxAbs = Math.max(maxAbs, Math.abs(v));
        assertThat(maxAbs).isEqualTo(127);
    }

    @Test
    void tokenGroupsCoverTheBatch() {
        for (int batch = 1; batch <= 70; batch++) {
            int sum = 0;
            for (int left = batch; left > 0; ) {
                int g = NibbleInt16MatMul.tokenGroup(left);
                assertThat(g).isBetween(1, left);
                left -= g;
                sum += g;
            }
            assertThat(sum).isEqualTo(batch);
        }
    }

    private static LaneRows copy(WeightMatrix w) {
        LaneRows p = LaneRows.pack(w, Dequant.L, Q4Kernel.INT16);
        Assumptions.assumeTrue(LaneMatMul.runs(p), "no lane kernel for this copy on this machine");
        assertThat(p.quantizedActivations()).isTrue();
        return p;
    }

    /** Gaussian activations with a few large outliers, as real hidden states have. */
    private static float[] activations(Random rnd, int n) {
        float[] x = MatMulTest.gaussian(rnd, n);
        for (int i = 0; i < n / 50; i++) x[rnd.nextInt(n)] *= 20;
        return x;
    }

    /** The recipe for row r and the activation row at x[xOff..], from the file layout. */
    static float recipe(WeightMatrix w, int r, float[] x, int xOff) {
        long o = w.rowOffset(r);
        int[] q = new int[32];
        float acc = 0;
        for (int b = 0; b < w.cols() / 32; b++) {
            long bo = o + 18L * b;
            float dw = Float.float16ToFloat(w.segment().get(LE_SHORT, bo));
            float dx = QuantizedActivations.quantizeBlock(x, xOff + 32 * b, q);
            int sum = 0;
            for (int k = 0; k < 32; k++) {
                int v = w.segment().get(ValueLayout.JAVA_BYTE, bo + 2 + k % 16) & 0xFF;
                int n = k < 16 ? v & 0x0F : v >>> 4;
                sum += (n - 8) * q[k];
            }
            acc = Math.fma((float) sum, dw * dx, acc);
        }
        return acc;
    }
}
