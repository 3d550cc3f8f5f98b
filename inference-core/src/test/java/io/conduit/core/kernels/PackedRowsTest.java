package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;

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
 * The row-interleaved copy the batch-1 decode kernel reads: it holds exactly the codec's values, and the
 * 4-chain kernel over it gives, per row, the bits of the single-row kernel over the file layout (and the scalar
 * reference within rounding), on random data of odd sizes.
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
        PackedRows p = w.packed();
        assertThat(p).isNotNull();
        assertThat(w.packed()).isSameAs(p);
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
        PackedRows p = w.packed();
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

    @Test
    void otherTypesAreNotPacked() {
        assertThat(MatMulTest.random(GgmlType.F32, 5, 37, 1).packed()).isNull();
        assertThat(MatMulTest.random(GgmlType.Q4_K, 5, 256, 1).packed()).isNull();
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
        for (GgmlType type : new GgmlType[]{GgmlType.Q8_0, GgmlType.Q4_0}) {
            int rows = 11, cols = 224;
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
