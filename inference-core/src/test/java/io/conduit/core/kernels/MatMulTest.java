package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.TensorCodec;
import io.conduit.core.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The batched kernels against the scalar reference on random data of odd sizes, for every weight type,
 * and the batch-invariance contract: each (row, token) output is bit-identical whatever the batch.
 */
class MatMulTest {
    static final GgmlType[] TYPES = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_K, GgmlType.Q6_K};
    /**
     * Never closed (a few MB, freed at exit): {@link #random} serves other test classes too, and an arena closed after
     * this class failed whichever of them the runner ordered after it.
     */
    private static final Arena ARENA = Arena.ofAuto();

    static Stream<Arguments> cases() {
        return Stream.of(TYPES).flatMap(t -> {
            int bs = t.blockSize();
            // rows not a multiple of the 4-row tile; float types get widths that leave a scalar tail; block types
            // also get rows of ~1300 elements, as long as real models' (a longer scratch and packed copy)
            int[] widths = t.quantized() ? new int[]{bs, 3 * bs, bs * Math.max(3, 1300 / bs)} : new int[]{37, 1029};
            return java.util.Arrays.stream(widths).boxed().flatMap(c -> Stream.of(1, 7, 13).map(r -> Arguments.of(t, r, c)));
        });
    }

    static WeightMatrix random(GgmlType type, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        long rowBytes = type.byteSize(cols);
        long off = 3; // unaligned on purpose
        MemorySegment seg = ARENA.allocate(off + rows * rowBytes + 16);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) row[c] = (float) rnd.nextGaussian();
            TensorCodec.of(type).quantize(row, 0, cols, seg, off + r * rowBytes);
        }
        return WeightMatrix.of("w", seg, off, type, rows, cols);
    }

    static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("cases")
    void batchedMatchesReferenceAndIsBatchInvariant(GgmlType type, int rows, int cols) {
        WeightMatrix w = random(type, rows, cols, 17L * type.id() + rows + cols);
        Random rnd = new Random(rows * 31L + cols);
        for (int batch : new int[]{1, 2, 3, 4, 5, 9, 17, 33}) {
            float[] x = gaussian(rnd, batch * cols);
            float[] out = new float[batch * rows];
            float[] ref = new float[batch * rows];
            MatMul.matmul(w, x, batch, out);
            MatMul.matmulReference(w, x, batch, ref);
            float[] deq = new float[cols];
            for (int t = 0; t < batch; t++) {
                float[] one = new float[rows];
                float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
                MatMul.matmul(w, xt, 1, one);
                for (int r = 0; r < rows; r++) {
                    w.dequantizeRow(r, deq, 0);
                    double abs = 0;
                    for (int c = 0; c < cols; c++) abs += Math.abs((double) deq[c] * xt[c]);
                    float got = out[t * rows + r];
                    double tolerance = MatMul.quantizesActivations(w) ? io.conduit.core.testing.Int8ActivationBound.of(deq, xt, 0) : 1e-5 * abs + 1e-30;
                    assertThat((double) got).as("%s row %d token %d of %d vs reference", type, r, t, batch)
                            .isCloseTo(ref[t * rows + r], org.assertj.core.api.Assertions.within(tolerance));
                    assertThat(Float.floatToRawIntBits(got)).as("%s row %d token %d: batch %d vs alone", type, r, t, batch)
                            .isEqualTo(Float.floatToRawIntBits(one[r]));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void vectorDequantizationEqualsCodec(GgmlType type) {
        int cols = type.quantized() ? 5 * type.blockSize() : 1029;
        WeightMatrix w = random(type, 3, cols, type.id());
        float[] fast = new float[cols + 2];
        float[] ref = new float[cols];
        for (int r = 0; r < 3; r++) {
            Dequant.row(w, r, fast, 2);
            w.dequantizeRow(r, ref, 0);
            for (int c = 0; c < cols; c++) {
                assertThat(Float.floatToRawIntBits(fast[c + 2])).as("%s row %d col %d", type, r, c)
                        .isEqualTo(Float.floatToRawIntBits(ref[c]));
            }
        }
    }

    static Stream<GgmlType> types() {
        return Stream.of(TYPES);
    }

    @Test
    void groupedMatmulEqualsSeparateCalls() {
        int cols = 64;
        WeightMatrix a = random(GgmlType.Q8_0, 9, cols, 1);
        WeightMatrix b = random(GgmlType.Q8_0, 3, cols, 2);
        WeightMatrix c = random(GgmlType.Q8_0, 6, cols, 3);
        float[] x = gaussian(new Random(4), 5 * cols);
        float[][] outs = {new float[5 * 9], new float[5 * 3], new float[5 * 6]};
        MatMul.matmul(new WeightMatrix[]{a, b, c}, x, 5, outs);
        WeightMatrix[] ws = {a, b, c};
        for (int i = 0; i < 3; i++) {
            float[] sep = new float[5 * ws[i].rows()];
            MatMul.matmul(ws[i], x, 5, sep);
            assertThat(outs[i]).containsExactly(sep);
        }
    }

    /** Enough calls for C2 to compile the kernels: the compiled code must give the same bits as before. */
    @Test
    void resultsDoNotChangeOnceJitCompiled() {
        WeightMatrix w = random(GgmlType.Q4_0, 8, 256, 9);
        float[] x = gaussian(new Random(5), 5 * 256);
        float[] first = new float[5 * 8];
        MatMul.matmul(w, x, 5, first);
        float[] later = new float[5 * 8];
        for (int i = 0; i < 20_000; i++) MatMul.matmul(w, x, 5, later);
        assertThat(later).containsExactly(first);
        float[] alone = new float[8];
        MatMul.matmul(w, java.util.Arrays.copyOfRange(x, 256, 512), 1, alone);
        assertThat(alone).containsExactly(java.util.Arrays.copyOfRange(first, 8, 16));
    }
}
