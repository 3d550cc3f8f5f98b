package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.PackedRows;
import io.conduit.core.tensor.WeightMatrix;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The 4-row copy the batch-1 Q4_K kernel reads holds exactly the codec's values, and batch-1 calls of every quantized
 * type (Q8_0/Q4_0/Q6_K through their lane copies) give the bits of wide batches.
 */
class PackedRowsTest {

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
                    for (int k = 0; k < batch * w.rows(); k++) {
                        assertThat(Float.floatToRawIntBits(outs[m][k])).as("%s batch %d matrix %d output %d", type, batch, m, k)
                                .isEqualTo(Float.floatToRawIntBits(wide[k]));
                        assertThat((double) outs[m][k]).isCloseTo(ref[k], org.assertj.core.api.Assertions.within(1e-4));
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
    void otherTypesAreNotPacked() {
        assertThat(MatMulTest.random(GgmlType.F32, 5, 37, 1).packed()).isNull();
        assertThat(MatMulTest.random(GgmlType.Q8_0, 5, 64, 1).packed()).as("Q8_0 has a lane copy instead").isNull();
        assertThat(MatMulTest.random(GgmlType.Q4_0, 5, 64, 1).packed()).as("Q4_0 has a lane copy instead").isNull();
        assertThat(MatMulTest.random(GgmlType.BF16, 5, 64, 1).packed()).isNull();
        // Q4_K is packed exactly where Q4_0 keeps nibbles; Q6_K has a lane copy instead
        assertThat(MatMulTest.random(GgmlType.Q4_K, 5, 256, 1).packed() != null).isEqualTo(PackedRows.Q4_NIBBLES);
        assertThat(MatMulTest.random(GgmlType.Q6_K, 5, 256, 1).packed()).isNull();
    }

    @Test
    void q4_kCopyHoldsTheCodecsValues() {
        org.junit.jupiter.api.Assumptions.assumeTrue(PackedRows.Q4_NIBBLES, "Q4_K is packed only for the nibble kernel");
        int rows = 6, cols = 512; // the second group has two padding rows
        WeightMatrix w = MatMulTest.random(GgmlType.Q4_K, rows, cols, 9);
        PackedRows p = w.packed();
        assertThat(p.nibbles()).isTrue();
        assertThat(p.mins()).isNotNull();
        float[] ref = new float[cols];
        for (int r = 0; r < 4 * p.groups(); r++) {
            if (r < rows) w.dequantizeRow(r, ref, 0);
            else java.util.Arrays.fill(ref, 0f);
            for (int c = 0; c < cols; c++) {
                int k = ((r / 4) * p.blocks() + c / 32) * 4 + r % 4, e = c % 32;
                int nib = e < 16 ? p.quants()[k * 16 + e] & 0x0F : (p.quants()[k * 16 + e - 16] & 0xFF) >>> 4;
                float v = nib * p.scales()[k] - p.mins()[k];
                assertThat(Float.floatToRawIntBits(v)).as("row %d col %d", r, c).isEqualTo(Float.floatToRawIntBits(ref[c]));
            }
        }
    }

    @Test
    void decodeBatchesOneToThreeMatchWideBatchesBitForBit() {
        decodeMatchesWideBatches();
    }

    /** The file-layout decode kernels (used when a matrix cannot be packed) give the same bits. */
    @Test
    void fallbackDecodeMatchesWideBatchesBitForBit() {
        MatMul.packedDecode = false;
        try {
            decodeMatchesWideBatches();
        } finally {
            MatMul.packedDecode = true;
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
