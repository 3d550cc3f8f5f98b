package io.conduit.core.runner;

import io.conduit.core.kv.BlockTable;
import io.conduit.core.kv.KvCache;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.synthetic.SyntheticModelWriter;
import io.conduit.core.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sequence's logits are bit-identical whether it runs alone or batched with others, at any index of the batch,
 * prefilled at once or in chunks, in KV blocks with other ids, and run after run (the kernels interpreted, then
 * compiled). GQA with three query heads per KV head and 64-wide heads in blocks of 16, so attention goes through
 * the vector paths, with contexts that end mid-block.
 */
class BatchInvarianceTest {
    @TempDir
    static Path tmp;

    @Test
    void logitsDoNotDependOnTheBatch() {
        ModelShape shape = new ModelShape("test-gqa", "llama", 384, 2, 6, 2, 512, 300, 512);
        Path file = tmp.resolve("gqa.gguf");
        new SyntheticModelWriter(shape, GgmlType.Q8_0, 5).write(file);
        try (LoadedModel m = ModelLoader.load(file)) {
            SplittableRandom rnd = new SplittableRandom(77);
            int vocab = m.config().vocabSize();
            int[] a = rnd.ints(37, 0, vocab).toArray();
            int[] b = rnd.ints(20, 0, vocab).toArray();
            int[] c = rnd.ints(51, 0, vocab).toArray();
            int steps = 6;
            int[] next = rnd.ints(steps, 0, vocab).toArray();

            List<float[]> alone = null;
            for (int run = 0; run < 4; run++) {
                List<float[]> a1 = runAlone(m, a, next);
                if (alone == null) alone = a1;
                for (int s = 0; s < a1.size(); s++) assertThat(a1.get(s)).as("run %d step %d alone", run, s).containsExactly(alone.get(s));
                List<float[]> batched = runBatched(m, a, b, c, next);
                for (int s = 0; s < alone.size(); s++) {
                    assertThat(batched.get(s)).as("run %d step %d batched", run, s).containsExactly(alone.get(s));
                }
            }
        }
    }

    /** A prefilled in one pass, then decoded; logits after the prompt and after each decoded token. */
    private static List<float[]> runAlone(LoadedModel m, int[] a, int[] next) {
        KvCache kv = new KvCache(m.config(), 16, 16);
        ModelRunner runner = new ModelRunner(m.config(), m.weights(), kv);
        BlockTable t = kv.newTable();
        t.ensureCapacity(a.length + next.length, kv.pool());
        List<float[]> out = new ArrayList<>();
        out.add(runner.forward(ForwardBatch.single(a, 0, t)));
        for (int s = 0; s < next.length; s++) out.add(runner.forward(ForwardBatch.single(new int[]{next[s]}, a.length + s, t)));
        return out;
    }

    /**
     * A prefilled in two chunks beside B's and C's prompts, then decoded with them, its index in the batch moving
     * each step; A's blocks are not the first ones of the cache.
     */
    private static List<float[]> runBatched(LoadedModel m, int[] a, int[] b, int[] c, int[] next) {
        int vocab = m.config().vocabSize();
        KvCache kv = new KvCache(m.config(), 24, 16);
        ModelRunner runner = new ModelRunner(m.config(), m.weights(), kv);
        BlockTable tb = kv.newTable(), tc = kv.newTable(), ta = kv.newTable();
        tb.ensureCapacity(b.length + next.length, kv.pool());
        tc.ensureCapacity(c.length + next.length, kv.pool());
        ta.ensureCapacity(a.length + next.length, kv.pool());
        BlockTable[] tables = {ta, tb, tc};
        List<float[]> out = new ArrayList<>();
        // Pass 1: B whole, A's first 13 tokens, C's first 30.  Pass 2: A's other 24 tokens, C's other 21.
        forward(runner, tables, new int[][]{Arrays.copyOf(a, 13), b, Arrays.copyOf(c, 30)}, new int[]{0, 0, 0}, new int[]{1, 0, 2});
        float[] l = forward(runner, tables, new int[][]{Arrays.copyOfRange(a, 13, a.length), new int[0], Arrays.copyOfRange(c, 30, c.length)},
                new int[]{13, b.length, 30}, new int[]{2, 0});
        out.add(Arrays.copyOfRange(l, vocab, 2 * vocab));
        for (int s = 0; s < next.length; s++) {
            int[] order = switch (s % 3) {
                case 0 -> new int[]{0, 1, 2};
                case 1 -> new int[]{1, 2, 0};
                default -> new int[]{2, 0, 1};
            };
            int[][] tokens = {{next[s]}, {next[(s + 1) % next.length]}, {next[(s + 2) % next.length]}};
            l = forward(runner, tables, tokens, new int[]{a.length + s, b.length + s, c.length + s}, order);
            int at = 0;
            while (order[at] != 0) at++;
            out.add(Arrays.copyOfRange(l, at * vocab, (at + 1) * vocab));
        }
        return out;
    }

    /** One pass over the given sequences' chunks (sequence i's tokens start at start[i]) in {@code order}; logits of each chunk's last token. */
    private static float[] forward(ModelRunner runner, BlockTable[] tables, int[][] chunks, int[] start, int[] order) {
        int n = 0;
        for (int i : order) n += chunks[i].length;
        int[] tokens = new int[n], positions = new int[n], seq = new int[n];
        int[] want = new int[order.length];
        int k = 0, w = 0;
        for (int i : order) {
            if (chunks[i].length == 0) continue;
            for (int j = 0; j < chunks[i].length; j++, k++) {
                tokens[k] = chunks[i][j];
                positions[k] = start[i] + j;
                seq[k] = i;
            }
            want[w++] = k - 1;
        }
        return runner.forward(new ForwardBatch(tokens, positions, seq, tables, Arrays.copyOf(want, w)));
    }
}
