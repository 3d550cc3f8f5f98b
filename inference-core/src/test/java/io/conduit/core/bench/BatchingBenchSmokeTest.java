package io.conduit.core.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.tensor.GgmlType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny run of the batching suite: every case is reported with its fields; no timing asserts. */
class BatchingBenchSmokeTest {
    @TempDir
    Path dir;

    @Test
    void batchingSuiteReportsEveryCase() {
        List<Map<String, Object>> rows = new ArrayList<>();
        try (LoadedModel m = ModelLoader.load(DecodeBench.cachedModel(dir, DecodeBenchSmokeTest.TINY, GgmlType.Q8_0))) {
            BatchingBench.run(m, "tiny", "q8_0", new BatchingBench.Options(new int[]{1, 3}, 4, 3, 40, 0.001, 1e9, 2, 8),
                    rows::add);
        }
        assertThat(rows).extracting(r -> r.get("case"))
                .containsExactly("streams", "streams", "prefix_ttft", "prefix_ttft", "users_per_box");
        assertThat(rows.get(0).get("streams")).isEqualTo(1);
        assertThat(rows.get(1).get("streams")).isEqualTo(3);
        assertThat(((Number) rows.get(1).get("aggregate_tok_s")).doubleValue()).isPositive();
        assertThat(rows.get(2).get("cache")).isEqualTo("off");
        assertThat(rows.get(3).get("cache")).isEqualTo("on");
        assertThat(((Number) rows.get(3).get("ttft_ms")).doubleValue()).isPositive();
        // with a lax budget both trials pass: 4 then 8 users
        assertThat(rows.get(4).get("users")).isEqualTo(8);
        for (Map<String, Object> r : rows) assertThat(r).containsEntry("shape", "tiny").containsEntry("quant", "q8_0");
    }
}
