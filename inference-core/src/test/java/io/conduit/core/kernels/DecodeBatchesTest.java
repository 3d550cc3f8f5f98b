package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.LaneRows;
import io.conduit.core.tensor.WeightMatrix;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Batch-1 decode calls of every quantized type (through their lane copies, and through the file-layout kernels that
 * run when a copy does not fit) give the bits of wide batches, alone and in groups of projections, mixed types too.
 */
class DecodeBatchesTest {

    /**
     * A group of projections (Q/K/V-like: row counts not multiples of 4) at batches 1..3 gives the bits of separate
     * wide-batch calls, and the reference within rounding, with whichever Q4_0 copy this machine reads.
     */
    @Test
    void groupDecodeMatchesSeparateWideCallsAndReference() {
        for (GgmlType type : new GgmlType[]{GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K}) {
            int cols = type.blockSize() == 256 ? 256 : 160;
            WeightMatrix[] ws = {MatMulTest.random(type, 13, cols, 1), MatMulTest.random(type, 6, cols, 2),
                    MatMulTest.random(type, 9, cols, 3)};
            float[] x = MatMulTest.gaussian(new Random(11), 6 * cols);
            for (int batch = 1; batch <= 3; batch++) {
                float[][] outs = new float[ws.length][];
                for (int m = 0; m < ws.length; m++) outs[m] = new float[batch * ws[m].rows()];
                MatMul.matmul(ws, x, batch, outs);
                for (int m = 0; m < ws.length; m++) {
                    WeightMatrix w = ws[m];
                    float[] wide = new float[6 * w.rows()], ref = new float[batch * w.rows()];
                    MatMul.matmul(w, x, 6, wide);
                    MatMul.matmulReference(w, x, batch, ref);
                    float[] row = new float[cols];
                    for (int k = 0; k < batch * w.rows(); k++) {
                        assertThat(Float.floatToRawIntBits(outs[m][k])).as("%s batch %d matrix %d output %d", type, batch, m, k)
                                .isEqualTo(Float.floatToRawIntBits(wide[k]));
                        w.dequantizeRow(k % w.rows(), row, 0);
                        double tolerance = MatMul.quantizesActivations(w) ? io.conduit.core.testing.Int8ActivationBound.of(row, x, k / w.rows() * cols) : 1e-4;
                        assertThat((double) outs[m][k]).isCloseTo(ref[k], org.assertj.core.api.Assertions.within(tolerance));
                    }
                }
            }
        }
    }

    /** A group mixing types (as Q4_K_M files do for Q/K/V) decodes exactly as separate calls and wide batches do. */
    @Test
    void mixedTypeGroupDecodesLikeSeparateCalls() {
        int cols = 256;
        WeightMatrix[] ws = {MatMulTest.random(GgmlType.Q4_K, 9, cols, 1), MatMulTest.random(GgmlType.Q4_K, 5, cols, 2),
                MatMulTest.random(GgmlType.Q6_K, 5, cols, 3), MatMulTest.random(GgmlType.Q8_0, 3, cols, 4)};
        float[] x = MatMulTest.gaussian(new Random(5), 6 * cols);
        for (int batch = 1; batch <= 3; batch++) {
            float[][] outs = new float[ws.length][];
            for (int m = 0; m < ws.length; m++) outs[m] = new float[batch * ws[m].rows()];
            MatMul.matmul(ws, x, batch, outs);
            for (int m = 0; m < ws.length; m++) {
                float[] alone = new float[batch * ws[m].rows()], wide = new float[6 * ws[m].rows()];
                MatMul.matmul(ws[m], x, batch, alone);
                MatMul.matmul(ws[m], x, 6, wide);
                for (int k = 0; k < alone.length; k++) {
                    assertThat(Float.floatToRawIntBits(outs[m][k])).as("batch %d matrix %d output %d", batch, m, k)
                            .isEqualTo(Float.floatToRawIntBits(alone[k])).isEqualTo(Float.floatToRawIntBits(wide[k]));
                }
            }
        }
    }

    @Test
    void quantizedTypesGetLaneCopiesAndFloatTypesDoNot() {
        assertThat(MatMulTest.random(GgmlType.F32, 5, 37, 1).lanes()).isNull();
        assertThat(MatMulTest.random(GgmlType.BF16, 5, 64, 1).lanes()).isNull();
        assertThat(MatMulTest.random(GgmlType.Q8_0, 5, 64, 1).lanes()).isNotNull();
        assertThat(MatMulTest.random(GgmlType.Q6_K, 5, 256, 1).lanes()).isNotNull();
        LaneRows q4 = MatMulTest.random(GgmlType.Q4_0, 5, 64, 1).lanes();
        assertThat(q4.nibbles()).isEqualTo(LaneRows.Q4_0_NIBBLES);
        // Q4_K is copied only as nibbles (read from the file layout when the override asks for int8)
        assertThat(MatMulTest.random(GgmlType.Q4_K, 5, 256, 1).lanes() != null).isEqualTo(LaneRows.Q4_K_NIBBLES);
    }

    @Test
    void decodeBatchesOneToThreeMatchWideBatchesBitForBit() {
        decodeMatchesWideBatches();
    }

    /** The file-layout decode kernels (used when a matrix cannot be packed) give the same bits. */
    @Test
    void fallbackDecodeMatchesWideBatchesBitForBit() {
        MatMul.laneCopies = false;
        try {
            decodeMatchesWideBatches();
        } finally {
            MatMul.laneCopies = true;
        }
    }

    private static void decodeMatchesWideBatches() {
        for (GgmlType type : new GgmlType[]{GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K}) {
            int rows = 11, cols = type.blockSize() == 256 ? 512 : 224;
            WeightMatrix w = MatMulTest.random(type, rows, cols, 99 + type.id());
            float[] x = MatMulTest.gaussian(new Random(3), 6 * cols);
            float[] wide = new float[6 * rows];
            MatMul.matmul(w, x, 6, wide); // batched kernels
            for (int batch = 1; batch <= 3; batch++) {
                float[] out = new float[batch * rows];
                MatMul.matmul(w, x, batch, out); // batch-1 kernels
                for (int k = 0; k < batch * rows; k++) {
                    assertThat(Float.floatToRawIntBits(out[k])).as("%s batch %d output %d", type, batch, k)
                            .isEqualTo(Float.floatToRawIntBits(wide[k]));
                }
            }
        }
    }
}
