package io.conduit.core.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.tensor.GgmlType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny run of the decode suite: the JSON contract fields are there, positive and consistent. No timing asserts. */
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
        }
        assertThat(rows.get(0).get("batch")).isEqualTo(1);
        assertThat(rows.get(1).get("batch")).isEqualTo(3);
    }

    static double num(Map<String, Object> r, String k) {
        return ((Number) r.get(k)).doubleValue();
    }
}
