package io.conduit.core.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.conduit.core.kv.BlockTable;
import io.conduit.core.kv.KvCache;
import io.conduit.core.runner.ForwardBatch;
import io.conduit.core.runner.ModelRunner;
import io.conduit.core.testing.HfCheckpointWriter;
import io.conduit.core.testing.ReferenceForward;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hugging Face checkpoints of each supported architecture and dtype load with the right configuration and
 * compute what the float64 reference computes.
 */
class HfArchitecturesTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"llama, F32", "llama, BF16", "mistral, F16", "qwen2, F32", "qwen2, BF16"})
    void checkpointMatchesReference(String arch, String dtype) {
        ObjectNode cfg = new ObjectMapper().createObjectNode();
        cfg.put("model_type", arch).put("hidden_size", 64).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("intermediate_size", 96)
                .put("vocab_size", 2048).put("max_position_embeddings", 128).put("rms_norm_eps", 1e-6)
                .put("rope_theta", 500000.0).put("tie_word_embeddings", arch.equals("qwen2"));
        if (arch.equals("mistral")) cfg.put("sliding_window", 8);
        Path dir = HfCheckpointWriter.writeModel(tmp.resolve(arch + dtype), cfg, dtype, 17);
        try (LoadedModel m = ModelLoader.load(dir)) {
            ModelConfig c = m.config();
            assertThat(c.architecture().name().toLowerCase()).isEqualTo(arch);
            assertThat(c.qkvBias()).isEqualTo(arch.equals("qwen2"));
            assertThat(c.slidingWindow()).isEqualTo(arch.equals("mistral") ? 8 : 0);
            assertThat(c.rope().layout()).isEqualTo(RopeLayout.HALF_SPLIT);
            assertThat(c.rope().theta()).isEqualTo(500000.0);
            assertThat(m.weights().output() == m.weights().tokenEmbedding()).isEqualTo(arch.equals("qwen2"));

            int[] tokens = new SplittableRandom(3).ints(20, 0, 2048).toArray();
            double[][] ref = new ReferenceForward(m).logits(tokens);
            KvCache kv = new KvCache(c, 4, 16);
            BlockTable table = kv.newTable();
            table.ensureCapacity(tokens.length, kv.pool());
            int[] all = new int[tokens.length];
            for (int i = 0; i < all.length; i++) all[i] = i;
            float[] logits = new ModelRunner(c, m.weights(), kv)
                    .forward(new ForwardBatch(tokens, all.clone(), new int[tokens.length], new BlockTable[]{table}, all));
            for (int t = 0; t < tokens.length; t++) {
                double scale = 1, worst = 0;
                for (int v = 0; v < c.vocabSize(); v++) {
                    scale = Math.max(scale, Math.abs(ref[t][v]));
                    worst = Math.max(worst, Math.abs(ref[t][v] - logits[t * c.vocabSize() + v]));
                }
                assertThat(worst / scale).as("position " + t).isLessThan(2e-4);
            }
        }
    }
}
