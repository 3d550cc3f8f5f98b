package io.conduit.core.runner;

import io.conduit.core.kv.BlockTable;
import io.conduit.core.kv.KvCache;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.synthetic.SyntheticModelWriter;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.testing.ReferenceForward;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real forward pass (float32, paged KV, batched) agrees with the float64 reference on random prompts,
 * whether a prompt is prefilled at once, decoded token by token, or shares a batch with another sequence.
 */
class ModelRunnerReferenceTest {
    /** Max |real - reference| allowed, relative to the largest reference logit (float32 vs float64). */
    static final double TOLERANCE = 2e-4;

    @TempDir
    static Path tmp;

    static Stream<Path> realModels() {
        return Stream.of(TestModels.stories260k(), TestModels.tinyStoriesQ8(), TestModels.tinyStoriesHf());
    }

    @ParameterizedTest
    @MethodSource("realModels")
    void realModelsMatchReference(Path model) {
        try (LoadedModel m = ModelLoader.load(model)) {
            checkAgainstReference(m, 7);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void everyTensorTypeMatchesReference(GgmlType type) {
        // 256-wide rows so the K-quant super-blocks fit; 4 query heads over 2 KV heads exercises GQA.
        ModelShape shape = new ModelShape("test", "llama", 256, 2, 4, 2, 512, 300, 256);
        Path file = tmp.resolve("synthetic-" + type + ".gguf");
        new SyntheticModelWriter(shape, type, 42).write(file);
        try (LoadedModel m = ModelLoader.load(file)) {
            assertThat(m.weights().layers()[0].wq().type()).isEqualTo(type);
            checkAgainstReference(m, 11);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "Q8_0"})
    void qwen2WithBiasesAndHalfSplitRopeMatchesReference(GgmlType type) {
        ModelShape shape = new ModelShape("test-qwen2", "qwen2", 256, 2, 4, 2, 512, 300, 256);
        Path file = tmp.resolve("synthetic-qwen2-" + type + ".gguf");
        new SyntheticModelWriter(shape, type, 43).write(file);
        try (LoadedModel m = ModelLoader.load(file)) {
            assertThat(m.config().qkvBias()).isTrue();
            checkAgainstReference(m, 13);
        }
    }

    private static void checkAgainstReference(LoadedModel m, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int vocab = m.config().vocabSize();
        int[] a = rnd.ints(23, 0, vocab).toArray();
        int[] b = rnd.ints(9, 0, vocab).toArray();
        ReferenceForward ref = new ReferenceForward(m);
        double[][] refA = ref.logits(a);
        double[][] refB = ref.logits(b);

        // 1. Whole prompt in one prefill, logits at every position.
        KvCache kv = new KvCache(m.config(), 16, 4);
        BlockTable ta = kv.newTable();
        ta.ensureCapacity(a.length, kv.pool());
        int[] all = new int[a.length];
        for (int i = 0; i < a.length; i++) all[i] = i;
        ForwardBatch prefill = new ForwardBatch(a, all.clone(), new int[a.length], new BlockTable[]{ta}, all);
        float[] logits = new ModelRunner(m.config(), m.weights(), kv).forward(prefill);
        for (int t = 0; t < a.length; t++) assertClose(refA[t], logits, t * vocab, "prefill position " + t);
        ta.release(kv.pool());

        // 2. Two sequences in one batch: A prefills its first 20 tokens then decodes the rest one by one
        //    while B prefills in 3-token chunks in the same passes.
        ModelRunner runner = new ModelRunner(m.config(), m.weights(), kv);
        BlockTable t1 = kv.newTable();
        BlockTable t2 = kv.newTable();
        t1.ensureCapacity(a.length, kv.pool());
        t2.ensureCapacity(b.length, kv.pool());
        int posA = 0;
        int posB = 0;
        while (posA < a.length) {
            int nA = posA == 0 ? 20 : 1;
            int nB = Math.min(3, b.length - posB);
            int n = nA + nB;
            int[] tokens = new int[n], positions = new int[n], seq = new int[n];
            for (int i = 0; i < nA; i++) { tokens[i] = a[posA + i]; positions[i] = posA + i; }
            for (int i = 0; i < nB; i++) { tokens[nA + i] = b[posB + i]; positions[nA + i] = posB + i; seq[nA + i] = 1; }
            int[] want = nB > 0 ? new int[]{nA - 1, n - 1} : new int[]{nA - 1};
            float[] out = runner.forward(new ForwardBatch(tokens, positions, seq, new BlockTable[]{t1, t2}, want));
            posA += nA;
            posB += nB;
            assertClose(refA[posA - 1], out, 0, "batched A at position " + (posA - 1));
            if (nB > 0) assertClose(refB[posB - 1], out, vocab, "batched B at position " + (posB - 1));
        }
        t1.release(kv.pool());
        t2.release(kv.pool());
        assertThat(kv.pool().whole()).as("every KV block returned").isTrue();
    }

    private static void assertClose(double[] expected, float[] actual, int offset, String where) {
        double scale = 0;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(expected[i] - actual[offset + i]));
        }
        assertThat(worst / Math.max(1, scale)).as("relative logit error at " + where).isLessThan(TOLERANCE);
    }
}
