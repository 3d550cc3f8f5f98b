package io.conduit.core.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.conduit.core.kernels.MatMul;
import io.conduit.core.testing.Int8ActivationBound;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A tiny run of the matmul suite: the sizes are the shape's, the numbers consistent. No timing asserts. */
class MatMulBenchSmokeTest {
    @Test
    void projectionsAreTheLayerMatricesOfTheShape() {
        List<MatMulBench.Projection> ps = MatMulBench.projections(ModelShape.SMOL_135M);
        assertThat(ps).extracting(MatMulBench.Projection::rows).containsExactly(576, 192, 1536, 576);
        assertThat(ps).extracting(MatMulBench.Projection::cols).containsExactly(576, 576, 576, 1536);
        long perLayer = ps.stream().mapToLong(p -> (long) p.rows() * p.cols()
                * (p.name().equals("gate_up") || p.name().equals("wq_wo") || p.name().equals("wk_wv") ? 2 : 1)).sum();
        ModelShape s = ModelShape.SMOL_135M;
        assertThat(perLayer * s.layers() + (long) s.vocabSize() * s.dim()).isEqualTo(s.matrixParameters());
    }

    @Test
    void casesReportConsistentRates() {
        ModelShape tiny = new ModelShape("tiny", "llama", 64, 1, 4, 2, 96, 100, 64);
        MachineLimits limits = new MachineLimits(10, 100, 2, 256);
        List<Map<String, Object>> rows = new ArrayList<>();
        MatMulBench.run(tiny, GgmlType.Q8_0, new MatMulBench.Options(new int[]{1, 5}, 0.05), limits, rows::add);
        assertThat(rows).hasSize(8);
        for (Map<String, Object> r : rows) {
            double us = num(r, "us_per_call");
            double flops = 2.0 * num(r, "rows") * num(r, "cols") * num(r, "batch");
            assertThat(us).isPositive();
            assertThat(num(r, "gflops")).isCloseTo(flops / (us * 1e3), within(0.01 * num(r, "gflops") + 1e-3));
            assertThat(num(r, "fma_fraction")).isCloseTo(num(r, "gflops") / 100, within(1e-3));
            // CPU-time rate: only where it means the kernel's time (one kernel thread); never above wall-clock
            // rate by more than the clocks' granularity allows
            if (io.conduit.core.kernels.Parallel.threads() == 1) {
                assertThat(num(r, "cpu_gflops")).isGreaterThanOrEqualTo(0.5 * num(r, "gflops"));
            } else {
                assertThat(r).doesNotContainKey("cpu_gflops");
            }
        }
        assertThat(rows.get(0)).containsEntry("matrix", "wq_wo").containsEntry("batch", 1).containsEntry("quant", "q8_0");
    }

    @Test
    void coldRunsRotateOverDistinctCopiesFillingTheBudget() {
        ModelShape tiny = new ModelShape("tiny", "llama", 64, 1, 4, 2, 96, 100, 64);
        MachineLimits limits = new MachineLimits(10, 100, 2, 256);
        List<Map<String, Object>> rows = new ArrayList<>();
        long budget = 1 << 20;
        MatMulBench.run(tiny, GgmlType.Q8_0, new MatMulBench.Options(new int[]{4}, 0.05, budget), limits, rows::add);
        assertThat(rows).hasSize(4);
        for (Map<String, Object> r : rows) {
            long bytes = (long) num(r, "rows") * GgmlType.Q8_0.byteSize((int) num(r, "cols"));
            assertThat(r).containsEntry("weights", "cold");
            assertThat((int) num(r, "copies")).isEqualTo((int) (budget / bytes));
        }
        List<Map<String, Object>> warm = new ArrayList<>();
        MatMulBench.run(tiny, GgmlType.Q8_0, new MatMulBench.Options(new int[]{4}, 0.05), limits, warm::add);
        assertThat(warm).allSatisfy(r -> assertThat(r).containsEntry("weights", "warm").containsEntry("copies", 1));
    }

    @Test
    void benchMatricesAreWhatTheKernelsComputeOn() {
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix w = MatMulBench.randomMatrix(arena, GgmlType.Q4_0, 13, 64, 5);
            float[] x = new float[64];
            for (int i = 0; i < 64; i++) x[i] = (float) Math.sin(i);
            float[] out = new float[13];
            float[] ref = new float[13];
            MatMul.matmul(w, x, 1, out);
            MatMul.matmulReference(w, x, 1, ref);
            float[] row = new float[64];
            for (int i = 0; i < 13; i++) {
                w.dequantizeRow(i, row, 0);
                // Q4_0 multiplies int8 activations by default: within their rounding's bound of the float product.
                double tolerance = MatMul.quantizesActivations(w) ? Int8ActivationBound.of(row, x, 0) : 1e-4;
                assertThat((double) out[i]).isCloseTo(ref[i], within(tolerance));
            }
            assertThat(ref).matches(v -> { for (float f : v) if (f != 0) return true; return false; }, "not all zero");
        }
    }

    static double num(Map<String, Object> r, String k) {
        return ((Number) r.get(k)).doubleValue();
    }
}
