package io.conduit.core.runner;

import io.conduit.core.kernels.Activations;
import io.conduit.core.kernels.MatMul;
import io.conduit.core.kernels.Norms;
import io.conduit.core.kernels.Parallel;
import io.conduit.core.kernels.Rope;
import io.conduit.core.kernels.VectorMath;
import io.conduit.core.kv.BlockTable;
import io.conduit.core.kv.KvCache;
import io.conduit.core.model.LayerWeights;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.model.ModelWeights;
import io.conduit.core.tensor.WeightMatrix;

/**
 * The Llama-family forward pass over a {@link ForwardBatch}: every token of every sequence goes through
 * each projection together (one pass over the weights per layer), while attention reads each sequence's
 * own keys and values through its block table. Not thread-safe: one runner per engine loop.
 */
public final class ModelRunner {
    private final ModelConfig c;
    private final ModelWeights w;
    private final KvCache kv;
    private final Rope rope;
    private final float attentionScale;

    public ModelRunner(ModelConfig config, ModelWeights weights, KvCache kv) {
        this.c = config;
        this.w = weights;
        this.kv = kv;
        this.rope = new Rope(config.rope());
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    public ModelConfig config() { return c; }

    public KvCache kvCache() { return kv; }

    /**
     * Runs the batch, writing its keys and values into the cache, and returns the next-token logits of
     * the tokens listed in {@link ForwardBatch#logitsFor()}, {@code vocabSize} floats each, in that order.
     */
    public float[] forward(ForwardBatch b) {
        validate(b);
        int n = b.size();
        int dim = c.dim();
        float[] x = new float[n * dim];
        for (int t = 0; t < n; t++) w.tokenEmbedding().dequantizeRow(b.tokens()[t], x, t * dim);

        float[] xb = new float[n * dim];
        float[] q = new float[n * c.qDim()];
        float[] k = new float[n * c.kvDim()];
        float[] v = new float[n * c.kvDim()];
        float[] att = new float[n * c.qDim()];
        float[] gate = new float[n * c.ffnDim()];
        float[] up = new float[n * c.ffnDim()];
        float[] proj = new float[n * dim];

        for (int l = 0; l < c.layers(); l++) {
            LayerWeights lw = w.layers()[l];
            // Attention block: x += Wo . attention(rope(Wq xb), rope(Wk xb), Wv xb), xb = rmsnorm(x)
            for (int t = 0; t < n; t++) Norms.rmsNorm(x, t * dim, lw.attnNorm(), c.rmsEps(), xb, t * dim, dim);
            // One pass of the pool over Q, K and V (and gate/up below): same results as three calls, fewer hand-offs.
            MatMul.matmul(new WeightMatrix[]{lw.wq(), lw.wk(), lw.wv()}, xb, n, new float[][]{q, k, v});
            if (lw.bq() != null) {
                addBias(q, lw.bq(), n);
                addBias(k, lw.bk(), n);
                addBias(v, lw.bv(), n);
            }
            for (int t = 0; t < n; t++) {
                rope.apply(q, t * c.qDim(), c.heads(), c.headDim(), b.positions()[t]);
                rope.apply(k, t * c.kvDim(), c.kvHeads(), c.headDim(), b.positions()[t]);
            }
            storeKeysAndValues(l, b, k, v);
            attention(l, b, q, att);
            MatMul.matmul(lw.wo(), att, n, proj);
            VectorMath.add(proj, 0, x, 0, n * dim);

            // Feed-forward block: x += Wdown . (silu(Wgate xb) * Wup xb), xb = rmsnorm(x)
            for (int t = 0; t < n; t++) Norms.rmsNorm(x, t * dim, lw.ffnNorm(), c.rmsEps(), xb, t * dim, dim);
            MatMul.matmul(new WeightMatrix[]{lw.gate(), lw.up()}, xb, n, new float[][]{gate, up});
            Activations.swiGlu(gate, up, n, c.ffnDim());
            MatMul.matmul(lw.down(), gate, n, proj);
            VectorMath.add(proj, 0, x, 0, n * dim);
        }
        return logits(b, x);
    }

    /** Final norm and output projection, only for the tokens whose logits are wanted. */
    private float[] logits(ForwardBatch b, float[] x) {
        int dim = c.dim();
        int m = b.logitsFor().length;
        float[] normed = new float[m * dim];
        for (int i = 0; i < m; i++) {
            Norms.rmsNorm(x, b.logitsFor()[i] * dim, w.outputNorm(), c.rmsEps(), normed, i * dim, dim);
        }
        float[] logits = new float[m * c.vocabSize()];
        MatMul.matmul(w.output(), normed, m, logits);
        return logits;
    }

    private void storeKeysAndValues(int layer, ForwardBatch b, float[] k, float[] v) {
        int kvDim = c.kvDim();
        for (int t = 0; t < b.size(); t++) {
            int slot = b.tables()[b.sequence()[t]].slot(b.positions()[t]);
            kv.store(layer, slot, k, t * kvDim, v, t * kvDim);
        }
    }

    /**
     * Causal grouped-query attention of every token over its own sequence's cached positions. One work item is a
     * (token, KV head): the cache hands over the scores and weighted values of a whole block of positions for all
     * the query heads that share that KV head, so each cached key and value is read once per item. With fewer items
     * than two per thread (batch-1 decode of a model with few KV heads: smol135m has 3) an item is a (token, KV head,
     * pair of its query heads) instead, so the threads' shares differ by at most one pair; each pair reads the keys
     * and values again. Per (token, head) the arithmetic is fixed (a position's score by {@link KvCache#keyScores}'
     * recipe, softmax in position order, values summed in position order), so it depends neither on the batch nor on
     * how heads are grouped into items.
     */
    private void attention(int layer, ForwardBatch b, float[] q, float[] out) {
        int kvHeads = c.kvHeads();
        int hd = c.headDim();
        int group = c.groupSize();
        int blockSize = kv.blockSize();
        int parts = b.size() * kvHeads >= 2 * Parallel.threads() ? 1 : (group + 1) / 2; // items per (token, KV head)
        int perPart = (group + parts - 1) / parts;
        Parallel.forRange(b.size() * kvHeads * parts, 1, (from, to) -> {
            float[] scores = new float[0];
            for (int item = from; item < to; item++) {
                int t = item / (kvHeads * parts);
                int kvHead = item / parts % kvHeads;
                int g0 = item % parts * perPart, heads = Math.min(perPart, group - g0);
                int pos = b.positions()[t];
                BlockTable table = b.tables()[b.sequence()[t]];
                int first = c.slidingWindow() > 0 ? Math.max(0, pos - c.slidingWindow() + 1) : 0;
                int len = pos - first + 1;
                int stride = len + blockSize; // room for keyScores writing past the last position
                if (scores.length < heads * stride) scores = new float[Math.max(heads * stride, 2 * scores.length)];
                int qOff = t * c.qDim() + (kvHead * group + g0) * hd; // the group's query heads are contiguous
                int headOff = kvHead * hd;
                for (int blk = first / blockSize; blk <= pos / blockSize; blk++) {
                    int start = blk * blockSize;
                    int o0 = Math.max(first, start) - start;
                    int o1 = Math.min(pos + 1, start + blockSize) - start;
                    kv.keyScores(layer, table.block(blk), o0, o1, headOff, q, qOff, heads, hd, scores, start + o0 - first, stride);
                }
                for (int g = 0; g < heads; g++) Activations.softmax(scores, g * stride, len, attentionScale);
                java.util.Arrays.fill(out, qOff, qOff + heads * hd, 0f);
                for (int blk = first / blockSize; blk <= pos / blockSize; blk++) {
                    int start = blk * blockSize;
                    int o0 = Math.max(first, start) - start;
                    int o1 = Math.min(pos + 1, start + blockSize) - start;
                    kv.addValues(layer, table.block(blk), o0, o1, headOff, scores, start + o0 - first, stride, heads, out, qOff, hd);
                }
            }
        });
    }

    private static void addBias(float[] y, float[] bias, int rows) {
        for (int t = 0; t < rows; t++) VectorMath.add(bias, 0, y, t * bias.length, bias.length);
    }

    private void validate(ForwardBatch b) {
        for (int t = 0; t < b.size(); t++) {
            int token = b.tokens()[t];
            if (token < 0 || token >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
            int pos = b.positions()[t];
            if (pos < 0 || pos >= c.contextLength()) {
                throw new IllegalArgumentException("position " + pos + " is outside the context of " + c.contextLength());
            }
            if (pos >= b.tables()[b.sequence()[t]].capacityTokens()) {
                throw new IllegalStateException("block table has no slot for position " + pos);
            }
        }
    }
}
