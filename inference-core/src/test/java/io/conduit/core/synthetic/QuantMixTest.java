package io.conduit.core.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.conduit.core.gguf.GgufFile;
import io.conduit.core.gguf.GgufTensorInfo;
import io.conduit.core.kv.BlockTable;
import io.conduit.core.kv.KvCache;
import io.conduit.core.model.LayerWeights;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.runner.ForwardBatch;
import io.conduit.core.runner.ModelRunner;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.testing.ReferenceForward;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Q4_K_M mix: llama.cpp's per-tensor rule, written into the file, loaded, and run like any model. */
class QuantMixTest {
    /** 8 layers, so that the rule is not trivial: more bits in layers 0 (first eighth), 3, 6 (every third) and 7 (last eighth). */
    static final ModelShape MIXED = new ModelShape("mixed", "llama", 256, 8, 4, 2, 512, 300, 256);
    static final Set<Integer> MORE_BITS_8 = Set.of(0, 3, 6, 7);

    @TempDir
    Path tmp;

    @Test
    void useMoreBitsIsLlamaCppsRule() {
        // by hand from llama.cpp's use_more_bits: i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2
        assertThat(layersWithMoreBits(16)).containsExactly(0, 1, 4, 7, 10, 13, 14, 15); // Llama-3.2-1B
        assertThat(layersWithMoreBits(32)).containsExactly(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31);
        assertThat(layersWithMoreBits(8)).containsExactlyInAnyOrderElementsOf(MORE_BITS_8);
        assertThat(layersWithMoreBits(2)).containsExactly(1); // n/8 = 0 and 7n/8 = 1: the last layer only
    }

    @Test
    void uniformMixesKeepOneTypeAndTheirNames() {
        QuantMix q8 = QuantMix.uniform(GgmlType.Q8_0);
        assertThat(q8.name()).isEqualTo("q8_0");
        assertThat(q8.fileType()).isEqualTo(7);
        assertThat(q8.mixed()).isFalse();
        for (QuantMix.Role role : QuantMix.Role.values()) assertThat(q8.typeOf(role, 0, 8)).isEqualTo(GgmlType.Q8_0);
        assertThat(QuantMix.Q4_K_M.name()).isEqualTo("q4_k_m");
        assertThat(QuantMix.Q4_K_M.fileType()).isEqualTo(15);
        assertThat(QuantMix.Q4_K_M.rowMultiple()).isEqualTo(256);
    }

    @Test
    void writerRejectsWidthsThatAreNotWholeSuperBlocks() {
        assertThatThrownBy(() -> new SyntheticModelWriter(ModelShape.SMOL_135M, QuantMix.Q4_K_M, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("q4_k_m").hasMessageContaining("256").hasMessageContaining("smol135m");
        new SyntheticModelWriter(ModelShape.L1B, QuantMix.Q4_K_M, 1); // accepted (nothing written)
    }

    @Test
    void q4KMFileFollowsTheRuleLoadsAndMatchesTheReference() {
        Path file = tmp.resolve("mixed.gguf");
        new SyntheticModelWriter(MIXED, QuantMix.Q4_K_M, 42).write(file);

        try (GgufFile f = GgufFile.open(file)) {
            assertThat(((Number) f.metadata().get("general.file_type")).intValue()).isEqualTo(15);
            assertThat(f.tensor("token_embd.weight").type()).isEqualTo(GgmlType.Q6_K);
            assertThat(f.tensor("output.weight")).isNull(); // tied: the Q6_K embedding is the output projection
            for (int l = 0; l < MIXED.layers(); l++) {
                GgmlType more = MORE_BITS_8.contains(l) ? GgmlType.Q6_K : GgmlType.Q4_K;
                assertThat(type(f, l, "attn_v")).as("layer %d attn_v", l).isEqualTo(more);
                assertThat(type(f, l, "ffn_down")).as("layer %d ffn_down", l).isEqualTo(more);
                for (String t : List.of("attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up")) {
                    assertThat(type(f, l, t)).as("layer %d %s", l, t).isEqualTo(GgmlType.Q4_K);
                }
                assertThat(f.tensor("blk." + l + ".attn_norm.weight").type()).isEqualTo(GgmlType.F32);
            }
            long q6 = f.tensors().values().stream().filter(t -> t.type() == GgmlType.Q6_K).count();
            assertThat(q6).isEqualTo(1 + 2 * MORE_BITS_8.size());
        }

        try (LoadedModel m = ModelLoader.load(file)) {
            assertThat(m.weights().tokenEmbedding().type()).isEqualTo(GgmlType.Q6_K);
            assertThat(m.weights().output()).isSameAs(m.weights().tokenEmbedding());
            for (int l = 0; l < MIXED.layers(); l++) {
                LayerWeights w = m.weights().layers()[l];
                GgmlType more = MORE_BITS_8.contains(l) ? GgmlType.Q6_K : GgmlType.Q4_K;
                assertThat(w.wq().type()).isEqualTo(GgmlType.Q4_K);
                assertThat(w.wk().type()).isEqualTo(GgmlType.Q4_K);
                assertThat(w.wv().type()).isEqualTo(more); // a Q/K/V group mixing types where more == Q6_K
                assertThat(w.down().type()).isEqualTo(more);
            }
            checkAgainstReference(m);
        }
    }

    /** Prefill of 12 tokens then 6 single-token decode steps (the batch-1 kernels), each against the float64 reference. */
    private static void checkAgainstReference(LoadedModel m) {
        int vocab = m.config().vocabSize();
        int[] tokens = new SplittableRandom(3).ints(18, 0, vocab).toArray();
        double[][] ref = new ReferenceForward(m).logits(tokens);
        KvCache kv = new KvCache(m.config(), 8, 4);
        BlockTable t = kv.newTable();
        t.ensureCapacity(tokens.length, kv.pool());
        ModelRunner runner = new ModelRunner(m.config(), m.weights(), kv);
        int prefill = 12;
        int[] pos = IntStream.range(0, prefill).toArray();
        float[] out = runner.forward(new ForwardBatch(java.util.Arrays.copyOf(tokens, prefill), pos, new int[prefill],
                new BlockTable[]{t}, new int[]{prefill - 1}));
        assertClose(ref[prefill - 1], out, "prefill");
        for (int p = prefill; p < tokens.length; p++) {
            out = runner.forward(new ForwardBatch(new int[]{tokens[p]}, new int[]{p}, new int[1], new BlockTable[]{t},
                    new int[]{0}));
            assertClose(ref[p], out, "decode position " + p);
        }
        t.release(kv.pool());
    }

    private static void assertClose(double[] expected, float[] actual, String where) {
        double scale = 0;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        // float32 against float64, as ModelRunnerReferenceTest allows
        assertThat(worst / Math.max(1, scale)).as("relative logit error at " + where).isLessThan(2e-4);
    }

    private static GgmlType type(GgufFile f, int layer, String tensor) {
        GgufTensorInfo t = f.tensor("blk." + layer + "." + tensor + ".weight");
        assertThat(t).as(tensor).isNotNull();
        return t.type();
    }

    private static List<Integer> layersWithMoreBits(int layers) {
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) if (QuantMix.useMoreBits(l, layers)) out.add(l);
        return out;
    }
}
