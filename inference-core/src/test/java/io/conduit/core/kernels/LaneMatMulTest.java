package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.LaneRows;
import io.conduit.core.tensor.WeightMatrix;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The row-per-lane kernels (Q8_0, Q4_0, Q6_K) against their recipe written out in scalar Java: for every (row, token),
 * {@code acc = 0; for k in order: acc = Math.fma(w[k], x[k], acc)} with {@code w} the codec's floats. Equal bits,
 * at batch 1 and batched, for the int8 and the nibble copies, on row counts that leave a partial super-group.
 */
class LaneMatMulTest {
    static Stream<Arguments> cases() {
        // rows: fewer than one super-group, one and a bit, several; cols: one block, and enough for several K slices.
        // With 16 lanes 300 rows are 5 halves of super-groups: at batch 1-3 two whole super-groups (8 chains) and the
        // first half of a third (4 chains), where the matrix ends. Batched, batches 4-29 run tiles of half a
        // super-group and 45 and 64 tiles of a lane-group pair (LaneMatMul.tileRows); on AVX-512 int8 copies at batches
        // 4-8 run fused super-group tiles instead (LaneMatMul.fusesDecode), one block at a time.
        Stream<Arguments> q8q4 = Stream.of(GgmlType.Q8_0, GgmlType.Q4_0).flatMap(t -> Stream.of(true, false).flatMap(nib ->
                Stream.of(new int[]{5, 32}, new int[]{70, 96}, new int[]{131, 32 * 37}, new int[]{300, 96},
                        new int[]{1000, 96}).map(rc -> Arguments.of(t, nib, rc[0], rc[1]))));
        Stream<Arguments> q6k = Stream.of(GgmlType.Q6_K, GgmlType.Q4_K).flatMap(t -> Stream.of(new int[]{5, 256},
                new int[]{131, 1280}, new int[]{300, 256}, new int[]{1000, 256})
                .map(rc -> Arguments.of(t, t == GgmlType.Q4_K, rc[0], rc[1])));
        return Stream.concat(q8q4, q6k);
    }

    @ParameterizedTest(name = "{0} nibbles={1} {2}x{3}")
    @MethodSource("cases")
    void kernelsFollowTheScalarRecipeBitForBit(GgmlType type, boolean nibbles, int rows, int cols) {
        WeightMatrix w = MatMulTest.random(type, rows, cols, 7L * rows + cols);
        LaneRows p = LaneRows.pack(w, Dequant.L, nibbles);
        Assumptions.assumeTrue(LaneMatMul.runs(p), "no lane kernel for this copy on this machine");
        assertThat(p.nibbles()).isEqualTo(nibbles && (type == GgmlType.Q4_0 || type == GgmlType.Q4_K));
        float[][] deq = new float[rows][cols];
        for (int r = 0; r < rows; r++) w.dequantizeRow(r, deq[r], 0);
        Random rnd = new Random(rows);
        for (int batch : new int[]{1, 3, 4, 7, 8, 13, 16, 29, 45, 64}) {
            float[] x = MatMulTest.gaussian(rnd, batch * cols);
            float[] out = new float[batch * rows];
            LaneMatMul.matmul(new LaneRows[]{p}, x, batch, new float[][]{out});
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    float acc = 0;
                    for (int k = 0; k < cols; k++) acc = Math.fma(deq[r][k], x[t * cols + k], acc);
                    assertThat(Float.floatToRawIntBits(out[t * rows + r]))
                            .as("%s row %d token %d of batch %d", type, r, t, batch).isEqualTo(Float.floatToRawIntBits(acc));
                }
            }
        }
    }

    /**
     * Matrices projected in one call (as Q, K and V are) share the work items of one parallel loop; each matrix's last
     * super-group may be a half, so an item list of 300 + 70 + 131 rows mixes whole and half super-groups of three
     * copies. Every output still follows the scalar recipe.
     */
    @ParameterizedTest(name = "{0} nibbles={1}")
    @MethodSource("fusedCases")
    void matricesProjectedTogetherEachFollowTheScalarRecipe(GgmlType type, boolean nibbles) {
        int cols = type == GgmlType.Q4_K ? 256 : 96;
        int[] rows = {300, 70, 131};
        LaneRows[] ps = new LaneRows[rows.length];
        float[][][] deq = new float[rows.length][][];
        for (int m = 0; m < rows.length; m++) {
            WeightMatrix w = MatMulTest.random(type, rows[m], cols, 31L * m + rows[m]);
            ps[m] = LaneRows.pack(w, Dequant.L, nibbles);
            Assumptions.assumeTrue(LaneMatMul.runs(ps[m]), "no lane kernel for this copy on this machine");
            deq[m] = new float[rows[m]][cols];
            for (int r = 0; r < rows[m]; r++) w.dequantizeRow(r, deq[m][r], 0);
        }
        Random rnd = new Random(5);
        for (int batch : new int[]{1, 2, 3, 5, 16}) {
            float[] x = MatMulTest.gaussian(rnd, batch * cols);
            float[][] outs = new float[rows.length][];
            for (int m = 0; m < rows.length; m++) outs[m] = new float[batch * rows[m]];
            LaneMatMul.matmul(ps, x, batch, outs);
            for (int m = 0; m < rows.length; m++) {
                for (int t = 0; t < batch; t++) {
                    for (int r = 0; r < rows[m]; r++) {
                        float acc = 0;
                        for (int k = 0; k < cols; k++) acc = Math.fma(deq[m][r][k], x[t * cols + k], acc);
                        assertThat(Float.floatToRawIntBits(outs[m][t * rows[m] + r]))
                                .as("%s matrix %d row %d token %d of batch %d", type, m, r, t, batch)
                                .isEqualTo(Float.floatToRawIntBits(acc));
                    }
                }
            }
        }
    }

    static Stream<Arguments> fusedCases() {
        return Stream.of(Arguments.of(GgmlType.Q8_0, false), Arguments.of(GgmlType.Q4_0, false),
                Arguments.of(GgmlType.Q4_0, true), Arguments.of(GgmlType.Q4_K, true));
    }

    @ParameterizedTest(name = "{0} nibbles={1} {2}x{3}")
    @MethodSource("cases")
    void decodedSliceIsTheCodecsFloatsKMajor(GgmlType type, boolean nibbles, int rows, int cols) {
        WeightMatrix w = MatMulTest.random(type, rows, cols, 11L * rows + cols);
        LaneRows p = LaneRows.pack(w, Dequant.L, nibbles);
        Assumptions.assumeTrue(LaneMatMul.runs(p));
        int blocks = p.blocks();
        float[] row = new float[cols];
        for (int tw : new int[]{LaneMatMul.TW, 2 * Dequant.L}) { // a half super-group, and a lane-group pair
            float[] s = new float[tw * 32 * blocks];
            for (int r0 = 0; r0 < p.superGroups() * p.width(); r0 += tw) {
                int b0 = blocks / 2; // a slice that starts inside the row
                LaneMatMul.decode(p, r0 / p.width(), r0 % p.width(), tw, b0, blocks, s);
                for (int i = 0; i < tw; i++) {
                    int r = r0 + i;
                    if (r < rows) w.dequantizeRow(r, row, 0);
                    for (int k = 32 * b0; k < cols; k++) {
                        float got = s[(k - 32 * b0) * tw + i];
                        if (r < rows) {
                            assertThat(Float.floatToRawIntBits(got)).as("width %d row %d element %d", tw, r, k)
                                    .isEqualTo(Float.floatToRawIntBits(row[k]));
                        } else {
                            assertThat(got).as("padding row %d element %d", r, k).isZero();
                        }
                    }
                }
            }
        }
    }

    @Test
    void tokenGroupsCoverTheBatchInWideTiles() {
        for (int batch = 4; batch <= 128; batch++) {
            int sum = 0, singles = 0;
            for (int left = batch; left > 0; ) {
                int g = LaneMatMul.tokenGroup(left);
                assertThat(g).as("batch %d, %d left", batch, left).isBetween(1, left);
                if (g == 1) singles++;
                sum += g;
                left -= g;
            }
            assertThat(sum).isEqualTo(batch);
            assertThat(singles).as("single-token tiles at batch %d", batch).isLessThan(4);
            // 5s and 4s cover every batch from 12 on; 12-token tiles leave a remainder of up to 3.
            if (LaneMatMul.SIXTEEN_REGISTERS && batch >= 12) assertThat(singles).as("batch %d", batch).isZero();
        }
    }

    @Test
    void largeBatchesGetPairTiles() {
        assertThat(LaneMatMul.tileRows(LaneMatMul.PAIR_TILES_FROM_BATCH - 1)).isEqualTo(LaneMatMul.TW);
        assertThat(LaneMatMul.tileRows(LaneMatMul.PAIR_TILES_FROM_BATCH)).isEqualTo(2 * Dequant.L);
    }

    /**
     * The build's second kernel run (execution kernels-at-8-lanes in inference-core/pom.xml) asks for AVX2's 8 lanes
     * with -XX:MaxVectorSize=32 and says so in conduit.test.lanes; this checks that the JVM gave them, so that run does
     * not silently repeat the machine's own width.
     */
    @Test
    void runsAtTheLaneCountTheBuildAskedFor() {
        String lanes = System.getProperty("conduit.test.lanes");
        Assumptions.assumeTrue(lanes != null, "this run asks for no lane count");
        assertThat(Dequant.L).isEqualTo(Integer.parseInt(lanes));
    }

    @Test
    void otherTypesHaveNoLaneCopy() {
        for (GgmlType t : new GgmlType[]{GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
            WeightMatrix w = MatMulTest.random(t, 3, t.quantized() ? t.blockSize() : 64, 1);
            assertThat(LaneRows.pack(w, Dequant.L, true)).as("%s", t).isNull();
        }
    }
}
