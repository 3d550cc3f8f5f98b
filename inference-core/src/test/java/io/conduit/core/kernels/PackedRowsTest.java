package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.PackedRows;
import io.conduit.core.tensor.WeightMatrix;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The row-interleaved copies the batch-1 decode kernels read (int8, and Q4_0 nibbles): they hold exactly the
 * codec's values, and the 4-chain kernels over them give, per row, the bits of the single-row kernel over the file
 * layout (and the scalar reference within rounding), on random data of odd sizes.
 */
class PackedRowsTest {

    static Stream<Arguments> cases() {
        return Stream.of(GgmlType.Q8_0, GgmlType.Q4_0).flatMap(t ->
                Stream.of(1, 3, 7, 13).flatMap(r -> Stream.of(32, 96, 160).map(c -> Arguments.of(t, r, c))));
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("cases")
    void packedValuesAreTheCodecs(GgmlType type, int rows, int cols) {
        WeightMatrix w = MatMulTest.random(type, rows, cols, 31L * rows + cols + type.id());
        assertThat(w.packed()).isNotNull();
        assertThat(w.packed()).isSameAs(w.packed());
        PackedRows p = PackedRows.pack(w, false); // the int8 copy (Q4_0 may default to nibbles)
        assertThat(p.nibbles()).isFalse();
        assertThat(p.blocks()).isEqualTo(cols / 32);
        assertThat(p.groups()).isEqualTo((rows + 3) / 4);
        float[] deq = new float[cols];
        for (int r = 0; r < p.groups() * PackedRows.GROUP; r++) {
            if (r < rows) w.dequantizeRow(r, deq, 0);
            else Arrays.fill(deq, 0f);
            int g = r / PackedRows.GROUP, i = r % PackedRows.GROUP;
            for (int c = 0; c < cols; c++) {
                int k = (g * p.blocks() + c / 32) * PackedRows.GROUP + i;
                float v = p.scales()[k] * p.quants()[k * 32 + c % 32];
                assertThat(Float.floatToRawIntBits(v + 0f)).as("%s row %d col %d", type, r, c)
                        .isEqualTo(Float.floatToRawIntBits(deq[c] + 0f));
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("cases")
    void fourChainKernelEqualsSingleRowKernelAndReference(GgmlType type, int rows, int cols) {
        WeightMatrix w = MatMulTest.random(type, rows, cols, 7L * rows + cols + type.id());
        PackedRows p = PackedRows.pack(w, false);
        Random rnd = new Random(rows + 1000L * cols);
        float[] x = MatMulTest.gaussian(rnd, 2 * cols + 5);
        int xOff = 5 + rnd.nextInt(cols); // odd offset into a longer activation array
        float[] acc4 = new float[4 * Dequant.L];
        float[] acc1 = new float[Dequant.L];
        float[] ref = new float[rows];
        MatMul.matmulReference(w, Arrays.copyOfRange(x, xOff, xOff + cols), 1, ref);
        float[] deq = new float[cols];
        for (int g = 0; g < p.groups(); g++) {
            Dequant.q8_0x4(p.quants(), p.scales(), g, p.blocks(), x, xOff, acc4);
            for (int i = 0; i < PackedRows.GROUP && g * 4 + i < rows; i++) {
                int r = g * 4 + i;
                if (type == GgmlType.Q8_0) Dequant.q8_0x1(w.segment(), w.rowOffset(r), cols, x, xOff, acc1);
                else Dequant.q4_0x1(w.segment(), w.rowOffset(r), cols, x, xOff, acc1);
                for (int l = 0; l < Dequant.L; l++) {
                    assertThat(Float.floatToRawIntBits(acc4[i * Dequant.L + l])).as("%s row %d lane %d", type, r, l)
                            .isEqualTo(Float.floatToRawIntBits(acc1[l]));
                }
                float got = MatMul.sum(jdk.incubator.vector.FloatVector.fromArray(Dequant.F, acc4, i * Dequant.L));
                w.dequantizeRow(r, deq, 0);
                double abs = 0;
                for (int c = 0; c < cols; c++) abs += Math.abs((double) deq[c] * x[xOff + c]);
                assertThat((double) got).isCloseTo(ref[r], org.assertj.core.api.Assertions.within(1e-5 * abs + 1e-30));
            }
        }
    }

    static Stream<Arguments> nibbleCases() {
        return Stream.of(1, 2, 3, 5, 7, 13, 30).flatMap(r -> Stream.of(32, 96, 160, 1024).map(c -> Arguments.of(r, c)));
    }

    /** The nibble copy holds the file's bytes, re-ordered: nibble value times scale is the codec's float. */
    @ParameterizedTest(name = "{0}x{1}")
    @MethodSource("nibbleCases")
    void nibbleCopyHoldsTheCodecsValues(int rows, int cols) {
        WeightMatrix w = MatMulTest.random(GgmlType.Q4_0, rows, cols, 17L * rows + cols);
        PackedRows p = PackedRows.pack(w, true);
        assertThat(p.nibbles()).isTrue();
        assertThat(p.quants()).hasSize(p.groups() * p.blocks() * PackedRows.GROUP * 16);
        assertThat(p.scales()).hasSize(p.groups() * p.blocks() * PackedRows.GROUP);
        float[] deq = new float[cols];
        for (int r = 0; r < p.groups() * PackedRows.GROUP; r++) {
            if (r < rows) w.dequantizeRow(r, deq, 0);
            else Arrays.fill(deq, 0f);
            int g = r / PackedRows.GROUP, i = r % PackedRows.GROUP;
            for (int c = 0; c < cols; c++) {
                int k = (g * p.blocks() + c / 32) * PackedRows.GROUP + i;
                int j = c % 32, v = p.quants()[k * 16 + j % 16] & 0xFF;
                int nibble = j < 16 ? v & 0x0F : v >>> 4;
                float got = p.scales()[k] * (nibble - 8);
                assertThat(Float.floatToRawIntBits(got + 0f)).as("row %d col %d", r, c)
                        .isEqualTo(Float.floatToRawIntBits(deq[c] + 0f));
            }
        }
        assertThat(PackedRows.pack(MatMulTest.random(GgmlType.Q8_0, rows, cols, 1), true).nibbles())
                .as("Q8_0 has no nibbles to keep").isFalse();
    }

    /**
     * The nibble kernel gives, per row, the bits of the int8-copy kernel and of the single-row file-layout kernel
     * (so batched and unbatched logits stay identical), and the scalar reference within rounding.
     */
    @ParameterizedTest(name = "{0}x{1}")
    @MethodSource("nibbleCases")
    void nibbleKernelEqualsInt8KernelSingleRowKernelAndReference(int rows, int cols) {
        assumeTrue(Dequant.NIBBLES, "the nibble kernel needs 16 float lanes");
        WeightMatrix w = MatMulTest.random(GgmlType.Q4_0, rows, cols, 5L * rows + cols);
        PackedRows p4 = PackedRows.pack(w, true), p8 = PackedRows.pack(w, false);
        assertThat(p8.nibbles()).isFalse();
        Random rnd = new Random(rows * 31L + cols);
        float[] x = MatMulTest.gaussian(rnd, 2 * cols + 7);
        int xOff = 3 + rnd.nextInt(cols); // odd offset into a longer activation array
        float[] acc4 = new float[4 * Dequant.L], acc8 = new float[4 * Dequant.L], acc1 = new float[Dequant.L];
        float[] ref = new float[rows];
        MatMul.matmulReference(w, Arrays.copyOfRange(x, xOff, xOff + cols), 1, ref);
        float[] deq = new float[cols];
        for (int g = 0; g < p4.groups(); g++) {
            Dequant.q4_0x4(p4.quants(), p4.scales(), g, p4.blocks(), x, xOff, acc4);
            Dequant.q8_0x4(p8.quants(), p8.scales(), g, p8.blocks(), x, xOff, acc8);
            for (int i = 0; i < PackedRows.GROUP && g * 4 + i < rows; i++) {
                int r = g * 4 + i;
                Dequant.q4_0x1(w.segment(), w.rowOffset(r), cols, x, xOff, acc1);
                for (int l = 0; l < Dequant.L; l++) {
                    int bits = Float.floatToRawIntBits(acc4[i * Dequant.L + l]);
                    assertThat(bits).as("row %d lane %d vs int8 copy", r, l)
                            .isEqualTo(Float.floatToRawIntBits(acc8[i * Dequant.L + l]));
                    assertThat(bits).as("row %d lane %d vs file layout", r, l)
                            .isEqualTo(Float.floatToRawIntBits(acc1[l]));
                }
                float got = MatMul.sum(jdk.incubator.vector.FloatVector.fromArray(Dequant.F, acc4, i * Dequant.L));
                w.dequantizeRow(r, deq, 0);
                double abs = 0;
                for (int c = 0; c < cols; c++) abs += Math.abs((double) deq[c] * x[xOff + c]);
                assertThat((double) got).isCloseTo(ref[r], org.assertj.core.api.Assertions.within(1e-5 * abs + 1e-30));
            }
        }
    }

    /** Which copy {@code MatMul} reads for Q4_0 here: nibbles exactly where the nibble kernel runs (no override). */
    @Test
    void q4CopyKeepsNibblesWhereTheKernelRuns() {
        assumeTrue(System.getProperty("conduit.q4.kernel") == null && System.getenv("CONDUIT_Q4_KERNEL") == null);
        assertThat(PackedRows.Q4_NIBBLES).isEqualTo(Dequant.NIBBLES);
        assertThat(MatMulTest.random(GgmlType.Q4_0, 5, 64, 2).packed().nibbles()).isEqualTo(Dequant.NIBBLES);
        assertThat(MatMulTest.random(GgmlType.Q8_0, 5, 64, 2).packed().nibbles()).isFalse();
    }

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
        assertThat(MatMulTest.random(GgmlType.BF16, 5, 64, 1).packed()).isNull();
        // Q4_K is packed exactly where Q4_0 keeps nibbles, Q6_K where 16 float lanes run its kernel
        assertThat(MatMulTest.random(GgmlType.Q4_K, 5, 256, 1).packed() != null).isEqualTo(PackedRows.Q4_NIBBLES);
        assertThat(MatMulTest.random(GgmlType.Q6_K, 5, 256, 1).packed() != null).isEqualTo(Dequant.L == 16);
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
    void q6_kCopyHoldsTheCodecsValues() {
        assumeTrue(Dequant.L == 16, "Q6_K is packed only for the 16-lane kernel");
        int rows = 5, cols = 512;
        WeightMatrix w = MatMulTest.random(GgmlType.Q6_K, rows, cols, 4);
        PackedRows p = w.packed();
        assertThat(p.blocks()).isEqualTo(cols / 16);
        float[] ref = new float[cols];
        for (int r = 0; r < 4 * p.groups(); r++) {
            if (r < rows) w.dequantizeRow(r, ref, 0);
            else java.util.Arrays.fill(ref, 0f);
            for (int c = 0; c < cols; c++) {
                int k = ((r / 4) * p.blocks() + c / 16) * 4 + r % 4;
                float v = p.quants()[k * 16 + c % 16] * p.scales()[k];
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
            MatMul.matmul(w, x, 6, wide); // scratch kernels (4x4 + 4x1)
            for (int batch = 1; batch <= 3; batch++) {
                float[] out = new float[batch * rows];
                MatMul.matmul(w, x, batch, out); // packed 4-chain kernel
                for (int k = 0; k < batch * rows; k++) {
                    assertThat(Float.floatToRawIntBits(out[k])).as("%s batch %d output %d", type, batch, k)
                            .isEqualTo(Float.floatToRawIntBits(wide[k]));
                }
            }
        }
    }
}
