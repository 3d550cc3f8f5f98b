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

    /** Causal grouped-query attention of every (token, head) over its own sequence's cached positions. */
    private void attention(int layer, ForwardBatch b, float[] q, float[] out) {
        int heads = c.heads();
        int hd = c.headDim();
        int group = c.groupSize();
        Parallel.forRange(b.size() * heads, 1, (from, to) -> {
            float[] scores = new float[0];
            for (int th = from; th < to; th++) {
                int t = th / heads;
                int h = th % heads;
                int pos = b.positions()[t];
                BlockTable table = b.tables()[b.sequence()[t]];
                int first = c.slidingWindow() > 0 ? Math.max(0, pos - c.slidingWindow() + 1) : 0;
                int len = pos - first + 1;
                if (scores.length < len) scores = new float[Math.max(len, 2 * scores.length)];
                int qOff = t * c.qDim() + h * hd;
                int kvHeadOff = (h / group) * hd;
                for (int p = first; p <= pos; p++) {
                    scores[p - first] = kv.dotKey(layer, table.slot(p), kvHeadOff, q, qOff, hd) * attentionScale;
                }
                Activations.softmax(scores, 0, len);
                java.util.Arrays.fill(out, qOff, qOff + hd, 0f);
                for (int p = first; p <= pos; p++) {
                    kv.addValue(layer, table.slot(p), kvHeadOff, scores[p - first], out, qOff, hd);
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
