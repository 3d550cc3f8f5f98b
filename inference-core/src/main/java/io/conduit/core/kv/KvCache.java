package io.conduit.core.kv;

import io.conduit.core.model.ModelConfig;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Key and value vectors of all sequences, in fixed-size blocks shared through one {@link BlockPool}.
 * A slot is block * blockSize + offset. Float32 values are stored per layer as [slot][kvHeads * headDim];
 * float32 keys are stored transposed within each block, [block][kvHeads * headDim][offset], so that the scores of
 * a whole block of positions are lanewise fmas over the head's dimensions (vector lane = position): no horizontal
 * sums, and every position's score has the same fixed recipe whichever lane or scalar tail computes it.
 *
 * <p>Or int8 with one float scale per group of 32 values (Q8_0's recipe; a whole head when the head size is not
 * a multiple of 32; {@link Int8KvStore}, keys transposed the same way), which holds about 3.5x more tokens in the
 * same memory at a small cost in precision. Attention reads the cache through {@link #keyScores} and {@link #addValues}, a block of
 * positions and all the query heads that share a KV head at a time.
 */
public final class KvCache {
    private static final int Q8_GROUP = 32;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private final int blockSize;
    private final int kvDim;
    private final float[][] keys;
    private final float[][] values;
    private final Int8KvStore quantized;
    private final BlockPool pool;

    public KvCache(ModelConfig config, int blocks, int blockSize) {
        this(config, blocks, blockSize, false);
    }

    public KvCache(ModelConfig config, int blocks, int blockSize, boolean quantized) {
        if (blockSize <= 0) throw new IllegalArgumentException("block size must be positive");
        long valuesPerLayer = (long) blocks * blockSize * config.kvDim();
        if (valuesPerLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("KV cache of " + blocks + " blocks is too large for one layer array");
        }
        this.blockSize = blockSize;
        this.kvDim = config.kvDim();
        int slots = blocks * blockSize;
        int group = scaleGroup(config);
        this.keys = quantized ? null : new float[config.layers()][(int) valuesPerLayer];
        this.values = quantized ? null : new float[config.layers()][(int) valuesPerLayer];
        this.quantized = quantized ? new Int8KvStore(config.layers(), slots, blockSize, kvDim, group) : null;
        this.pool = new BlockPool(blocks);
    }

    /** Blocks that fit a memory budget of {@code bytes}. */
    public static int blocksForBudget(ModelConfig config, long bytes, int blockSize) {
        return blocksForBudget(config, bytes, blockSize, false);
    }

    public static int blocksForBudget(ModelConfig config, long bytes, int blockSize, boolean quantized) {
        long valuesPerBlock = 2L * config.layers() * blockSize * config.kvDim();
        long perBlock = quantized ? valuesPerBlock + valuesPerBlock / scaleGroup(config) * Float.BYTES
                : valuesPerBlock * Float.BYTES;
        return (int) Math.max(1, bytes / perBlock);
    }

    /** Values per int8 scale of the quantized cache: 32, or a whole head when the head size is not a multiple of 32. */
    public static int scaleGroup(ModelConfig config) {
        return config.headDim() % Q8_GROUP == 0 ? Q8_GROUP : config.headDim();
    }

    public int blockSize() { return blockSize; }

    public BlockPool pool() { return pool; }

    public boolean quantized() { return quantized != null; }

    public BlockTable newTable() { return new BlockTable(blockSize); }

    /** Writes one token's keys and values (kvDim floats each) into {@code slot}. */
    public void store(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
        if (quantized != null) {
            quantized.store(layer, slot, k, kOff, v, vOff);
        } else {
            int o = slot % blockSize;
            float[] kt = keys[layer];
            int base = (slot - o) * kvDim + o;
            for (int i = 0; i < kvDim; i++) kt[base + i * blockSize] = k[kOff + i];
            System.arraycopy(v, vOff, values[layer], slot * kvDim, kvDim);
        }
    }

    /**
     * Attention scores of {@code heads} query heads against the keys at offsets [o0, o1) of {@code block}:
     * scores[sOff + g * stride + (o - o0)] = q_g . key[o][headOff..headOff+n), where q_g = q[qOff + g * n ..).
     * Scores are computed a vector of positions at a time and may be written up to {@code L - 1} offsets past
     * o1 (never past the block's end), so each head's run of the array needs that much room.
     *
     * <p>Per position the sum is fixed: four fma chains over d = 0, 4, 8.. / 1, 5, 9.. / 2, 6.. / 3, 7.., added as
     * (c0 + c1) + (c2 + c3), the same whether the position is a vector lane or goes through the scalar tail.
     */
    public void keyScores(int layer, int block, int o0, int o1, int headOff, float[] q, int qOff, int heads, int n,
                          float[] scores, int sOff, int stride) {
        if (quantized != null) {
            quantized.keyScores(layer, block, o0, o1, headOff, q, qOff, heads, n, scores, sOff, stride);
            return;
        }
        float[] kt = keys[layer];
        int base = block * blockSize * kvDim + headOff * blockSize;
        int g = 0;
        // Query heads of one KV head (GQA) two at a time: each key vector loaded once for both.
        for (; g + 2 <= heads; g += 2) {
            int qo = qOff + g * n, so = sOff + g * stride - o0;
            int o = o0;
            for (; o < o1 && o + L <= blockSize; o += L) { // as the single-head loop below
                keyScoresVector2(kt, base + o, q, qo, qo + n, n, scores, so + o, so + stride + o);
            }
            for (; o < o1; o++) {
                scores[so + o] = keyScore(kt, base + o, q, qo, n);
                scores[so + stride + o] = keyScore(kt, base + o, q, qo + n, n);
            }
        }
        for (; g < heads; g++) {
            int qo = qOff + g * n;
            int so = sOff + g * stride - o0;
            int o = o0;
            while (o < o1) {
                if (o + L <= blockSize) {
                    keyScoresVector(kt, base + o, q, qo, n, scores, so + o);
                    o += L;
                } else {
                    scores[so + o] = keyScore(kt, base + o, q, qo, n);
                    o++;
                }
            }
        }
    }

    /**
     * L positions' scores into scores[to..to+L); {@code at} is the first position's dimension 0, dimension d at
     * at + d * blockSize. Stores its result itself: C2 does not inline a method this size, and a vector returned
     * from a call that is not inlined is boxed, an allocation per call.
     */
    private void keyScoresVector(float[] kt, int at, float[] q, int qo, int n, float[] scores, int to) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
        int b = blockSize;
        int d = 0;
        for (; d + 4 <= n; d += 4) {
            int i = at + d * b;
            c0 = FloatVector.fromArray(F, kt, i).fma(FloatVector.broadcast(F, q[qo + d]), c0);
            c1 = FloatVector.fromArray(F, kt, i + b).fma(FloatVector.broadcast(F, q[qo + d + 1]), c1);
            c2 = FloatVector.fromArray(F, kt, i + 2 * b).fma(FloatVector.broadcast(F, q[qo + d + 2]), c2);
            c3 = FloatVector.fromArray(F, kt, i + 3 * b).fma(FloatVector.broadcast(F, q[qo + d + 3]), c3);
        }
        if (d < n) c0 = FloatVector.fromArray(F, kt, at + d * b).fma(FloatVector.broadcast(F, q[qo + d]), c0);
        if (d + 1 < n) c1 = FloatVector.fromArray(F, kt, at + (d + 1) * b).fma(FloatVector.broadcast(F, q[qo + d + 1]), c1);
        if (d + 2 < n) c2 = FloatVector.fromArray(F, kt, at + (d + 2) * b).fma(FloatVector.broadcast(F, q[qo + d + 2]), c2);
        c0.add(c1).add(c2.add(c3)).intoArray(scores, to);
    }

    /** {@link #keyScoresVector} for two query heads (q at qa and qb, scores to ta and tb), each key vector loaded once. */
    private void keyScoresVector2(float[] kt, int at, float[] q, int qa, int qb, int n, float[] scores, int ta, int tb) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, e0 = c0, e1 = c0, e2 = c0, e3 = c0;
        int b = blockSize;
        int d = 0;
        for (; d + 4 <= n; d += 4) {
            int i = at + d * b;
            FloatVector k = FloatVector.fromArray(F, kt, i);
            c0 = k.fma(FloatVector.broadcast(F, q[qa + d]), c0);
            e0 = k.fma(FloatVector.broadcast(F, q[qb + d]), e0);
            k = FloatVector.fromArray(F, kt, i + b);
            c1 = k.fma(FloatVector.broadcast(F, q[qa + d + 1]), c1);
            e1 = k.fma(FloatVector.broadcast(F, q[qb + d + 1]), e1);
            k = FloatVector.fromArray(F, kt, i + 2 * b);
            c2 = k.fma(FloatVector.broadcast(F, q[qa + d + 2]), c2);
            e2 = k.fma(FloatVector.broadcast(F, q[qb + d + 2]), e2);
            k = FloatVector.fromArray(F, kt, i + 3 * b);
            c3 = k.fma(FloatVector.broadcast(F, q[qa + d + 3]), c3);
            e3 = k.fma(FloatVector.broadcast(F, q[qb + d + 3]), e3);
        }
        for (int j = 0; d + j < n; j++) { // the tail of n, chain j as in keyScoresVector
            FloatVector k = FloatVector.fromArray(F, kt, at + (d + j) * b);
            FloatVector ya = FloatVector.broadcast(F, q[qa + d + j]), yb = FloatVector.broadcast(F, q[qb + d + j]);
            if (j == 0) { c0 = k.fma(ya, c0); e0 = k.fma(yb, e0); }
            else if (j == 1) { c1 = k.fma(ya, c1); e1 = k.fma(yb, e1); }
            else { c2 = k.fma(ya, c2); e2 = k.fma(yb, e2); }
        }
        c0.add(c1).add(c2.add(c3)).intoArray(scores, ta);
        e0.add(e1).add(e2.add(e3)).intoArray(scores, tb);
    }

    /** One position's score, the recipe of one lane of {@link #keyScoresVector}. */
    private float keyScore(float[] kt, int at, float[] q, int qo, int n) {
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        int b = blockSize;
        int d = 0;
        for (; d + 4 <= n; d += 4) {
            int i = at + d * b;
            c0 = Math.fma(kt[i], q[qo + d], c0);
            c1 = Math.fma(kt[i + b], q[qo + d + 1], c1);
            c2 = Math.fma(kt[i + 2 * b], q[qo + d + 2], c2);
            c3 = Math.fma(kt[i + 3 * b], q[qo + d + 3], c3);
        }
        if (d < n) c0 = Math.fma(kt[at + d * b], q[qo + d], c0);
        if (d + 1 < n) c1 = Math.fma(kt[at + (d + 1) * b], q[qo + d + 1], c1);
        if (d + 2 < n) c2 = Math.fma(kt[at + (d + 2) * b], q[qo + d + 2], c2);
        return (c0 + c1) + (c2 + c3);
    }

    /**
     * out_g[0..n) += sum over offsets o in [o0, o1), in order, of w_g[o] * value[o][headOff..headOff+n), for the
     * {@code heads} query heads g, with w_g[o] = weights[wOff + g * stride + (o - o0)] and out_g at out[outOff + g * n].
     * Each output value is one fma chain in position order (an element in a vector lane and one in the scalar
     * tail get the same bits), so a caller that walks its blocks in order gets a fixed sum per (token, head).
     */
    public void addValues(int layer, int block, int o0, int o1, int headOff, float[] weights, int wOff, int stride,
                          int heads, float[] out, int outOff, int n) {
        if (quantized != null) {
            quantized.addValues(layer, block, o0, o1, headOff, weights, wOff, stride, heads, out, outOff, n);
            return;
        }
        float[] vs = values[layer];
        int base = block * blockSize * kvDim + headOff;
        for (int g = 0; g < heads; g++) {
            int wo = wOff + g * stride - o0;
            int yo = outOff + g * n;
            int d = 0;
            for (; d + 4 * L <= n; d += 4 * L) {
                int y = yo + d;
                FloatVector a0 = FloatVector.fromArray(F, out, y);
                FloatVector a1 = FloatVector.fromArray(F, out, y + L);
                FloatVector a2 = FloatVector.fromArray(F, out, y + 2 * L);
                FloatVector a3 = FloatVector.fromArray(F, out, y + 3 * L);
                for (int o = o0; o < o1; o++) {
                    FloatVector w = FloatVector.broadcast(F, weights[wo + o]);
                    int x = base + o * kvDim + d;
                    a0 = FloatVector.fromArray(F, vs, x).fma(w, a0);
                    a1 = FloatVector.fromArray(F, vs, x + L).fma(w, a1);
                    a2 = FloatVector.fromArray(F, vs, x + 2 * L).fma(w, a2);
                    a3 = FloatVector.fromArray(F, vs, x + 3 * L).fma(w, a3);
                }
                a0.intoArray(out, y);
                a1.intoArray(out, y + L);
                a2.intoArray(out, y + 2 * L);
                a3.intoArray(out, y + 3 * L);
            }
            for (; d + L <= n; d += L) {
                FloatVector a = FloatVector.fromArray(F, out, yo + d);
                for (int o = o0; o < o1; o++) {
                    a = FloatVector.fromArray(F, vs, base + o * kvDim + d).fma(FloatVector.broadcast(F, weights[wo + o]), a);
                }
                a.intoArray(out, yo + d);
            }
            for (; d < n; d++) {
                float a = out[yo + d];
                for (int o = o0; o < o1; o++) a = Math.fma(vs[base + o * kvDim + d], weights[wo + o], a);
                out[yo + d] = a;
            }
        }
    }

    /** q[qOff..qOff+n) . key[slot][headOff..headOff+n), with {@link #keyScores}' recipe. */
    public float dotKey(int layer, int slot, int headOff, float[] q, int qOff, int n) {
        if (quantized != null) return quantized.dotKey(layer, slot, headOff, q, qOff, n);
        int o = slot % blockSize;
        return keyScore(keys[layer], (slot - o) * kvDim + headOff * blockSize + o, q, qOff, n);
    }

    /** out[outOff..outOff+n) += weight * value[slot][headOff..headOff+n), with {@link #addValues}' recipe. */
    public void addValue(int layer, int slot, int headOff, float weight, float[] out, int outOff, int n) {
        int o = slot % blockSize;
        addValues(layer, slot / blockSize, o, o + 1, headOff, new float[]{weight}, 0, 1, 1, out, outOff, n);
    }
}
