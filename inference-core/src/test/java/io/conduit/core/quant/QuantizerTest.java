package io.conduit.core.quant;

import static org.assertj.core.api.Assertions.assertThat;

import io.conduit.core.gguf.GgufFile;
import io.conduit.core.gguf.GgufRawMetadata;
import io.conduit.core.gguf.GgufTensorInfo;
import io.conduit.core.kv.KvCache;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.runner.ForwardBatch;
import io.conduit.core.runner.ModelRunner;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.synthetic.SyntheticModelWriter;
import io.conduit.core.tensor.GgmlType;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Quantizing a float checkpoint, to a file or on load, gives exactly the bytes ggml's quantizer gives (a
 * synthetic model written directly in the target type from the same random floats), keeps all metadata, and
 * the result runs.
 */
class QuantizerTest {
    static final ModelShape TINY = new ModelShape("tiny", "llama", 64, 2, 4, 2, 96, 300, 128);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"F32, Q8_0", "F32, Q4_0", "F16, Q8_0", "BF16, Q4_0"})
    void fileAndLoadTimeQuantizationMatchDirectQuantization(GgmlType from, GgmlType to) {
        Path src = dir.resolve("src.gguf");
        Path out = dir.resolve("out.gguf");
        new SyntheticModelWriter(TINY, from, 5).write(src);
        Quantizer.Report report = Quantizer.quantizeFile(src, out, to);
        assertThat(report.converted()).isEqualTo(1 + 7 * TINY.layers());

        Map<String, GgufRawMetadata.Raw> before = GgufRawMetadata.read(src);
        Map<String, GgufRawMetadata.Raw> after = GgufRawMetadata.read(out);
        assertThat(after.keySet()).containsAll(before.keySet());
        before.forEach((k, v) -> {
            if (k.equals("general.file_type")) return;
            assertThat(after.get(k).typeId()).as(k).isEqualTo(v.typeId());
            assertThat(after.get(k).value()).as(k).isEqualTo(v.value());
        });
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(((Number) f.metadata().get("general.file_type")).intValue()).isEqualTo(to == GgmlType.Q8_0 ? 7 : 2);
            assertThat(f.tensor("blk.0.attn_q.weight").type()).isEqualTo(to);
            assertThat(f.tensor("blk.0.attn_norm.weight").type()).isEqualTo(GgmlType.F32);
        }

        // Only when the source floats are exactly the generator's (F32) is the direct file byte-identical.
        if (from == GgmlType.F32) {
            Path direct = dir.resolve("direct.gguf");
            new SyntheticModelWriter(TINY, to, 5).write(direct);
            try (GgufFile a = GgufFile.open(out); GgufFile b = GgufFile.open(direct)) {
                for (GgufTensorInfo t : b.tensors().values()) {
                    GgufTensorInfo u = a.tensor(t.name());
                    assertThat(u.type()).as(t.name()).isEqualTo(t.type());
                    byte[] x = a.segment().asSlice(u.dataOffset(), u.byteSize()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    byte[] y = b.segment().asSlice(t.dataOffset(), t.byteSize()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    assertThat(Arrays.equals(x, y)).as(t.name()).isTrue();
                }
            }
        }

        // On-load quantization of the float file equals loading the quantized file, logit for logit.
        try (LoadedModel fromFile = ModelLoader.load(out);
             LoadedModel onLoad = ModelLoader.load(src, new ModelLoader.LoadOptions(to))) {
            assertThat(onLoad.weights().layers()[1].down().type()).isEqualTo(to);
            assertThat(onLoad.weights().tokenEmbedding().type()).isEqualTo(to);
            assertThat(logits(onLoad)).containsExactly(logits(fromFile));
        }
    }

    static float[] logits(LoadedModel m) {
        KvCache kv = new KvCache(m.config(), 4, 16);
        var table = kv.newTable();
        table.ensureCapacity(8, kv.pool());
        return new ModelRunner(m.config(), m.weights(), kv).forward(ForwardBatch.single(new int[]{1, 50, 60, 299, 7}, 0, table));
    }
}
