package io.conduit.cli;

import io.conduit.core.bench.BatchingBench;
import io.conduit.core.bench.DecodeBench;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.tensor.GgmlType;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/** The batching suite over each (shape, quant): cached synthetic model, then {@link BatchingBench}. */
final class BatchingBenchRunner {
    private BatchingBenchRunner() {
    }

    static void run(Path dir, List<String> shapes, List<String> quants, BatchingBench.Options options,
                    Consumer<Map<String, Object>> sink) {
        for (String s : shapes) {
            ModelShape shape = ModelShape.named(s);
            for (String q : quants) {
                GgmlType type = BenchCommand.parseType(q);
                try (LoadedModel m = ModelLoader.load(DecodeBench.cachedModel(dir, shape, type))) {
                    BatchingBench.run(m, shape.name(), type.name().toLowerCase(Locale.ROOT), options, sink);
                }
            }
        }
    }
}
