package io.conduit.core.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.conduit.cli.BenchCommand;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.synthetic.QuantMix;
import io.conduit.core.tensor.GgmlType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A tiny run of the decode suite: the JSON contract fields are there, positive and consistent, and the paired
 * bandwidth fields follow their definition. No timing asserts beyond the probe time being left out.
 */
class DecodeBenchSmokeTest {
    static final ModelShape TINY = new ModelShape("tiny", "llama", 64, 2, 4, 2, 128, 300, 256);

    @TempDir
    Path dir;

    @Test
    void decodeSuiteReportsConsistentRooflineFractions() throws Exception {
        MachineLimits limits = new MachineLimits(MachineLimits.bandwidthGbs(8 << 20, 2), MachineLimits.fmaPeakGflops(1),
                2, 256);
        assertThat(limits.bandwidthGbs()).isPositive();
        assertThat(limits.fmaPeakGflops()).isPositive();
        List<Map<String, Object>> rows = new ArrayList<>();
        DecodeBench.run(dir, TINY, GgmlType.Q8_0, new int[]{1, 3}, new DecodeBench.Options(8, 3, 4, 0.5), limits, rows::add);
        assertThat(Files.exists(DecodeBench.cachedModel(dir, TINY, GgmlType.Q8_0))).isTrue();
        assertThat(rows).hasSize(2);
        for (Map<String, Object> r : rows) {
            assertThat(r).containsKeys("shape", "quant", "batch", "prefill_tok_s", "decode_tok_s", "bandwidth_gbs",
                    "roofline_fraction", "limit_tok_s", "bound");
            assertThat(r.get("shape")).isEqualTo("tiny");
            assertThat(r.get("quant")).isEqualTo("q8_0");
            double decode = num(r, "decode_tok_s");
            double limit = num(r, "limit_tok_s");
            assertThat(num(r, "prefill_tok_s")).isPositive();
            assertThat(decode).isPositive();
            assertThat(limit).isPositive();
            assertThat(num(r, "bandwidth_gbs")).isPositive();
            assertThat(num(r, "roofline_fraction")).isCloseTo(decode / limit, within(1e-3 + 1e-3 * decode / limit));
            // at least half the steps take the median or longer, so the median step is at most twice the mean
            double median = num(r, "decode_tok_s_median_step");
            assertThat(median).isGreaterThanOrEqualTo(decode / 2 * 0.999);
            assertThat(num(r, "roofline_fraction_median_step")).isCloseTo(median / limit, within(1e-3 + 1e-3 * median / limit));
            // limit = batch / max(bytes / bandwidth, batch * flops / peak)
            double b = num(r, "batch");
            double mem = num(r, "bytes_per_step") / (num(r, "bandwidth_gbs") * 1e9);
            double cmp = b * num(r, "flops_per_token") / (num(r, "fma_peak_gflops") * 1e9);
            assertThat(limit).isCloseTo(b / Math.max(mem, cmp), within(0.01 * limit + 0.01));
            // a prefill of 8 tokens computes the output projection once (the last token's logits), not per token:
            // per layer wq 64x64 + wk, wv 32x64 + wo 64x64 + gate, up 128x64 + down 64x128 = 36864 multiply-adds for
            // each of 2 layers, the output's 300x64 shared by the 8 tokens, attention 4 x layers x qDim x mean context 4
            assertThat(num(r, "prefill_flops_per_token")).isEqualTo(2.0 * (2 * 36864 + 300 * 64 / 8) + 4 * 2 * 64 * 4);
            assertThat(num(r, "prefill_roofline_fraction")).isCloseTo(num(r, "prefill_tok_s") * num(r, "prefill_flops_per_token")
                    / (num(r, "fma_peak_gflops") * 1e9), within(1e-3 * num(r, "prefill_roofline_fraction") + 1e-6));
            // probes are on by default: one pass per timed step, the paired fraction only where memory-bound
            List<Double> stepMs = list(r, "step_ms");
            List<Double> probe = list(r, "probe_gbs");
            assertThat(stepMs).hasSize((int) num(r, "decode_steps")).allSatisfy(v -> assertThat(v).isPositive());
            assertThat(probe).hasSameSizeAs(stepMs).allSatisfy(v -> assertThat(v).isPositive());
            assertThat(num(r, "bandwidth_gbs_paired")).isCloseTo(median(probe), within(1e-5 * median(probe)));
            if (r.get("bound").equals("memory")) {
                double expected = pairedFraction(r);
                assertThat(num(r, "roofline_fraction_paired")).isCloseTo(expected, within(1e-5 * expected));
            } else {
                assertThat(r).doesNotContainKey("roofline_fraction_paired");
            }
        }
        assertThat(rows.get(0).get("batch")).isEqualTo(1);
        assertThat(rows.get(1).get("batch")).isEqualTo(3);
    }

    /**
     * With a fake probe (a slow one, whose reading goes up by one GB/s per call) and limits that make every case
     * memory-bound: the paired fields follow their definition from the reported steps and passes, the probe time is
     * not in decode_tok_s, and re-applying limits (as the CLI does after the cases) keeps the paired fields.
     */
    @Test
    void pairedFieldsFollowTheStepsAndTheirProbePasses() {
        MachineLimits memoryBound = new MachineLimits(1.0, 1e9, 2, 256);
        long probeMillis = 100;
        int[] calls = {0};
        List<Map<String, Object>> rows = new ArrayList<>();
        try (LoadedModel m = ModelLoader.load(DecodeBench.cachedModel(dir, TINY, GgmlType.Q8_0))) {
            DecodeBench.run(m, "tiny", "q8_0", new int[]{1, 2}, new DecodeBench.Options(8, 3, 4, 30), memoryBound,
                    () -> {
                        sleep(probeMillis);
                        return 10.0 + calls[0]++;
                    }, rows::add);
        }
        assertThat(rows).hasSize(2);
        int seen = 0;
        for (Map<String, Object> r : rows) {
            assertThat(r.get("bound")).isEqualTo("memory");
            List<Double> stepMs = list(r, "step_ms");
            List<Double> probe = list(r, "probe_gbs");
            int steps = (int) num(r, "decode_steps");
            assertThat(steps).isEqualTo(3);
            assertThat(stepMs).hasSize(steps);
            // a pass after each step, warm-up steps included (two per case), and the timed steps' passes reported in order
            seen += 2;
            for (int i = 0; i < steps; i++) assertThat(probe.get(i)).isEqualTo(10.0 + seen + i);
            seen += steps;
            assertThat(num(r, "bandwidth_gbs_paired")).isEqualTo(median(probe));
            double expected = pairedFraction(r);
            assertThat(num(r, "roofline_fraction_paired")).isCloseTo(expected, within(1e-5 * expected));
            // the decode loop without the probes: at least the steps' own time, and far from the 100 ms per pass
            double b = num(r, "batch");
            double stepSecs = stepMs.stream().mapToDouble(Double::doubleValue).sum() / 1e3;
            double decode = num(r, "decode_tok_s");
            assertThat(decode).isLessThanOrEqualTo(b * steps / stepSecs * (1 + 1e-4));
            assertThat(decode).isGreaterThan(3 * b / (probeMillis / 1e3));

            // limits re-measured: compute-bound now, so no paired fraction; memory-bound again, the same one back
            double paired = num(r, "roofline_fraction_paired");
            double bandwidthPaired = num(r, "bandwidth_gbs_paired");
            DecodeBench.applyLimits(r, new MachineLimits(1e9, 1e-3, 2, 256));
            assertThat(r.get("bound")).isEqualTo("compute");
            assertThat(r).doesNotContainKey("roofline_fraction_paired");
            assertThat(num(r, "bandwidth_gbs_paired")).isEqualTo(bandwidthPaired);
            assertThat(num(r, "bandwidth_gbs")).isEqualTo(1e9);
            DecodeBench.applyLimits(r, new MachineLimits(2.0, 1e9, 2, 256));
            assertThat(num(r, "roofline_fraction_paired")).isEqualTo(paired);
            assertThat(num(r, "roofline_fraction")).isCloseTo(num(r, "decode_tok_s") / num(r, "limit_tok_s"),
                    within(1e-5 * num(r, "roofline_fraction")));
        }
    }

    @Test
    void withoutProbesNoPairedFields() {
        MachineLimits memoryBound = new MachineLimits(1.0, 1e9, 2, 256);
        List<Map<String, Object>> rows = new ArrayList<>();
        DecodeBench.run(dir, TINY, GgmlType.Q8_0, new int[]{1}, new DecodeBench.Options(8, 3, 4, 30, false),
                memoryBound, rows::add);
        assertThat(rows).hasSize(1);
        Map<String, Object> r = rows.get(0);
        assertThat(r.get("bound")).isEqualTo("memory");
        assertThat(list(r, "step_ms")).hasSize(3);
        assertThat(r).doesNotContainKeys("probe_gbs", "bandwidth_gbs_paired", "roofline_fraction_paired");
        assertThat(r).containsKeys("decode_tok_s", "roofline_fraction", "decode_tok_s_median_step");
    }

    /**
     * {@code --context} and {@code --kv-cache-dtype q8_0}: the rows say which cache and context they ran, and the bytes
     * a step reads count int8 keys and values (1 byte, plus a 4-byte scale per head: TINY's heads are 16 wide, not a multiple of 32)
     * instead of 4 bytes each, at the same mean context.
     */
    @Test
    void contextAndInt8KvCacheAreReportedAndCounted() throws Exception {
        MachineLimits memoryBound = new MachineLimits(1.0, 1e9, 2, 256);
        List<Map<String, Object>> rows = new ArrayList<>();
        try (LoadedModel m = ModelLoader.load(DecodeBench.cachedModel(dir, TINY, GgmlType.Q8_0))) {
            for (boolean int8 : new boolean[]{false, true}) {
                DecodeBench.run(m, "tiny", "q8_0", new int[]{2}, new DecodeBench.Options(8, 3, 40, 30, false, int8),
                        memoryBound, rows::add);
            }
            assertThat(rows).hasSize(2);
            Map<String, Object> f32 = rows.get(0), q8 = rows.get(1);
            assertThat(f32.get("kv_cache_dtype")).isEqualTo("f32");
            assertThat(q8.get("kv_cache_dtype")).isEqualTo("q8_0");
            assertThat(f32.get("context_tokens")).isEqualTo(40);
            assertThat(q8.get("context_tokens")).isEqualTo(40);
            int meanCtx = 40 + 2 + 3 / 2; // context, the two warm-up steps, half the timed ones
            long values = 2L * TINY.layers() * TINY.kvHeads() * (TINY.dim() / TINY.heads()) * meanCtx;
            long weights = (long) num(f32, "bytes_per_step") - 2 * values * 4;
            assertThat(weights).isPositive();
            assertThat((long) num(q8, "bytes_per_step")).isEqualTo(weights + 2 * (values + values / 16 * 4));
        }
    }

    @Test
    void q4KMixIsRejectedOnSmol135mBeforeAnythingIsWritten() throws Exception {
        assertThatThrownBy(() -> DecodeBench.cachedModel(dir, ModelShape.SMOL_135M, QuantMix.Q4_K_M))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("q4_k_m").hasMessageContaining("256").hasMessageContaining("576");
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void q4KMixIsRefusedOutsideTheDecodeSuite() {
        Throwable[] failure = new Throwable[1];
        CommandLine cmd = new CommandLine(new BenchCommand());
        cmd.setExecutionExceptionHandler((ex, c, parsed) -> {
            failure[0] = ex;
            return 1;
        });
        assertThat(cmd.execute("--suite", "batching", "--quant", "q4_k_m", "--dir", dir.toString())).isEqualTo(1);
        assertThat(failure[0]).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--suite decode");
    }

    /** Median over steps of (bytes_per_step / step seconds) / (its probe pass GB/s * 1e9), from the row's own lists. */
    static double pairedFraction(Map<String, Object> r) {
        List<Double> stepMs = list(r, "step_ms");
        List<Double> probe = list(r, "probe_gbs");
        double[] f = new double[stepMs.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = num(r, "bytes_per_step") / (stepMs.get(i) / 1e3) / (probe.get(i) * 1e9);
        }
        return median(java.util.Arrays.stream(f).boxed().toList());
    }

    static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    @SuppressWarnings("unchecked")
    static List<Double> list(Map<String, Object> r, String k) {
        assertThat(r.get(k)).as(k).isInstanceOf(List.class);
        return (List<Double>) r.get(k);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static double num(Map<String, Object> r, String k) {
        return ((Number) r.get(k)).doubleValue();
    }
}
