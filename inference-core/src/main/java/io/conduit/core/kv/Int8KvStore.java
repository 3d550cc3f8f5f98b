package io.conduit.core.kv;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The int8 KV cache ({@code kv-cache-dtype: q8_0}): symmetric int8 with one float scale per group of {@code group}
 * values of a slot (x ~= scale * q, q in [-127, 127]), laid out for the same vector kernels as the float32 cache.
 * <ul>
 *   <li>Keys transposed within each block, as the float keys: quant of dimension d at offset o of a block at
 *   {@code (block * kvDim + d) * blockSize + o}, and its group's scale at {@code (block * groups + d / group) *
 *   blockSize + o}. A block's scores are then lanewise fmas over the head's dimensions, a vector of positions at
 *   a time, each group's partial sum scaled once.</li>
 *   <li>Values row-major, {@code slot * kvDim + d}, scales at {@code slot * groups + d / group}: the weighted sum runs
 *   along the head's dimensions, one fma per value with the position's weight times the group's scale.</li>
 * </ul>
 * Every score and every output value has one fixed recipe whether a vector lane or the scalar tail computes it (see
 * {@link #keyScore} and {@link #addValuesScalar}), so results depend neither on the batch nor on the vector width.
 * Before session 11 both were scalar loops: at a 2000-token context smol135m decoded at 30 (batch 1) and 47 (batch 16)
 * tok/s with this cache against 76-79 and 150-172 with float32; with these kernels 90-99 and 215 (docs/BENCHMARKS.md).
 */
final class Int8KvStore {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Byte species of L lanes; the vector paths need 8 or 16 float lanes (AVX2 or AVX-512). */
    private static final VectorSpecies<Byte> B = L == 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    private static final boolean VECTOR = L == 8 || L == 16;

    private final int blockSize;
    private final int kvDim;
    private final int group;
    private final int groups;
    private final byte[][] keys;
    private final float[][] keyScales;
    private final byte[][] values;
    private final float[][] valueScales;

    Int8KvStore(int layers, int slots, int blockSize, int kvDim, int group) {
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        this.group = group;
        this.groups = kvDim / group;
        this.keys = new byte[layers][slots * kvDim];
        this.keyScales = new float[layers][slots * groups];
        this.values = new byte[layers][slots * kvDim];
        this.valueScales = new float[layers][slots * groups];
    }

    /** Quantizes one token's keys and values (kvDim floats each) into {@code slot}. */
    void store(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
        int o = slot % blockSize, block = slot / blockSize;
        byte[] kq = keys[layer];
        float[] ks = keyScales[layer];
        byte[] vq = values[layer];
        float[] vs = valueScales[layer];
        for (int j = 0; j < groups; j++) {
            float kScale = scale(k, kOff + j * group), kInv = kScale == 0 ? 0 : 1f / kScale;
            float vScale = scale(v, vOff + j * group), vInv = vScale == 0 ? 0 : 1f / vScale;
            ks[(block * groups + j) * blockSize + o] = kScale;
            vs[slot * groups + j] = vScale;
            for (int i = 0; i < group; i++) {
                int d = j * group + i;
                kq[(block * kvDim + d) * blockSize + o] = (byte) Math.round(k[kOff + d] * kInv);
                vq[slot * kvDim + d] = (byte) Math.round(v[vOff + d] * vInv);
            }
        }
    }

    private float scale(float[] x, int off) {
        float max = 0;
        for (int i = 0; i < group; i++) max = Math.max(max, Math.abs(x[off + i]));
        return max / 127f;
    }

    /** {@link KvCache#keyScores} over this store: the same contract, this store's recipe ({@link #keyScore}). */
    void keyScores(int layer, int block, int o0, int o1, int headOff, float[] q, int qOff, int heads, int n,
                   float[] scores, int sOff, int stride) {
        byte[] kq = keys[layer];
        float[] ks = keyScales[layer];
        int base = (block * kvDim + headOff) * blockSize;
        int scaleBase = (block * groups + headOff / group) * blockSize;
        int g = 0;
        for (; g + 2 <= heads; g += 2) { // query heads of one KV head two at a time: each key vector converted once
            int qo = qOff + g * n, so = sOff + g * stride - o0;
            int o = o0;
            for (; VECTOR && o < o1 && o + L <= blockSize; o += L) {
                keyScoresVector2(kq, ks, base + o, scaleBase + o, q, qo, qo + n, n, scores, so + o, so + stride + o);
            }
            for (; o < o1; o++) {
                scores[so + o] = keyScore(kq, ks, base + o, scaleBase + o, q, qo, n);
                scores[so + stride + o] = keyScore(kq, ks, base + o, scaleBase + o, q, qo + n, n);
            }
        }
        for (; g < heads; g++) {
            int qo = qOff + g * n, so = sOff + g * stride - o0;
            int o = o0;
            for (; VECTOR && o < o1 && o + L <= blockSize; o += L) {
                keyScoresVector(kq, ks, base + o, scaleBase + o, q, qo, n, scores, so + o);
            }
            for (; o < o1; o++) scores[so + o] = keyScore(kq, ks, base + o, scaleBase + o, q, qo, n);
        }
    }

    /**
     * One position's score: per group of the head, four fma chains over its dimensions d = 0, 4, 8.. / 1, 5.. / 2, 6.. /
     * 3, 7.. (a tail of the group goes to chains 0, 1, 2), the partial sum (c0 + c1) + (c2 + c3), then
     * score = fma(partial, scale, score) group after group. {@code at} is the position's dimension 0 of the head,
     * {@code scaleAt} its first group's scale.
     */
    private float keyScore(byte[] kq, float[] ks, int at, int scaleAt, float[] q, int qo, int n) {
        int b = blockSize;
        float score = 0;
        for (int j = 0; j * group < n; j++) {
            float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
            int d0 = j * group, d = d0;
            for (; d + 4 <= d0 + group; d += 4) {
                int i = at + d * b;
                c0 = Math.fma(kq[i], q[qo + d], c0);
                c1 = Math.fma(kq[i + b], q[qo + d + 1], c1);
                c2 = Math.fma(kq[i + 2 * b], q[qo + d + 2], c2);
                c3 = Math.fma(kq[i + 3 * b], q[qo + d + 3], c3);
            }
            if (d < d0 + group) c0 = Math.fma(kq[at + d * b], q[qo + d], c0);
            if (d + 1 < d0 + group) c1 = Math.fma(kq[at + (d + 1) * b], q[qo + d + 1], c1);
            if (d + 2 < d0 + group) c2 = Math.fma(kq[at + (d + 2) * b], q[qo + d + 2], c2);
            score = Math.fma((c0 + c1) + (c2 + c3), ks[scaleAt + j * b], score);
        }
        return score;
    }

    /**
     * L positions' scores ({@link #keyScore}'s recipe per lane) into scores[to..to+L). Stores its result itself: a
     * vector returned from a call C2 does not inline is boxed.
     */
    private void keyScoresVector(byte[] kq, float[] ks, int at, int scaleAt, float[] q, int qo, int n,
                                 float[] scores, int to) {
        int b = blockSize;
        FloatVector score = FloatVector.zero(F);
        for (int j = 0; j * group < n; j++) {
            FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
            int d0 = j * group, d = d0;
            for (; d + 4 <= d0 + group; d += 4) {
                int i = at + d * b;
                c0 = b2f(kq, i).fma(FloatVector.broadcast(F, q[qo + d]), c0);
                c1 = b2f(kq, i + b).fma(FloatVector.broadcast(F, q[qo + d + 1]), c1);
                c2 = b2f(kq, i + 2 * b).fma(FloatVector.broadcast(F, q[qo + d + 2]), c2);
                c3 = b2f(kq, i + 3 * b).fma(FloatVector.broadcast(F, q[qo + d + 3]), c3);
            }
            if (d < d0 + group) c0 = b2f(kq, at + d * b).fma(FloatVector.broadcast(F, q[qo + d]), c0);
            if (d + 1 < d0 + group) c1 = b2f(kq, at + (d + 1) * b).fma(FloatVector.broadcast(F, q[qo + d + 1]), c1);
            if (d + 2 < d0 + group) c2 = b2f(kq, at + (d + 2) * b).fma(FloatVector.broadcast(F, q[qo + d + 2]), c2);
            score = c0.add(c1).add(c2.add(c3)).fma(FloatVector.fromArray(F, ks, scaleAt + j * b), score);
        }
        score.intoArray(scores, to);
    }

    /** {@link #keyScoresVector} for two query heads (q at qa and qb, scores to ta and tb), each key vector converted once. */
    private void keyScoresVector2(byte[] kq, float[] ks, int at, int scaleAt, float[] q, int qa, int qb, int n,
                                  float[] scores, int ta, int tb) {
        int b = blockSize;
        FloatVector sa = FloatVector.zero(F), sb = sa;
        for (int j = 0; j * group < n; j++) {
            FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, e0 = c0, e1 = c0, e2 = c0, e3 = c0;
            int d0 = j * group, d = d0;
            for (; d + 4 <= d0 + group; d += 4) {
                int i = at + d * b;
                FloatVector k = b2f(kq, i);
                c0 = k.fma(FloatVector.broadcast(F, q[qa + d]), c0);
                e0 = k.fma(FloatVector.broadcast(F, q[qb + d]), e0);
                k = b2f(kq, i + b);
                c1 = k.fma(FloatVector.broadcast(F, q[qa + d + 1]), c1);
                e1 = k.fma(FloatVector.broadcast(F, q[qb + d + 1]), e1);
                k = b2f(kq, i + 2 * b);
                c2 = k.fma(FloatVector.broadcast(F, q[qa + d + 2]), c2);
                e2 = k.fma(FloatVector.broadcast(F, q[qb + d + 2]), e2);
                k = b2f(kq, i + 3 * b);
                c3 = k.fma(FloatVector.broadcast(F, q[qa + d + 3]), c3);
                e3 = k.fma(FloatVector.broadcast(F, q[qb + d + 3]), e3);
            }
            for (int r = 0; d + r < d0 + group; r++) { // the group's tail, chain r as in keyScore
                FloatVector k = b2f(kq, at + (d + r) * b);
                FloatVector ya = FloatVector.broadcast(F, q[qa + d + r]), yb = FloatVector.broadcast(F, q[qb + d + r]);
                if (r == 0) { c0 = k.fma(ya, c0); e0 = k.fma(yb, e0); }
                else if (r == 1) { c1 = k.fma(ya, c1); e1 = k.fma(yb, e1); }
                else { c2 = k.fma(ya, c2); e2 = k.fma(yb, e2); }
            }
            FloatVector s = FloatVector.fromArray(F, ks, scaleAt + j * b);
            sa = c0.add(c1).add(c2.add(c3)).fma(s, sa);
            sb = e0.add(e1).add(e2.add(e3)).fma(s, sb);
        }
        sa.intoArray(scores, ta);
        sb.intoArray(scores, tb);
    }

    /** {@link KvCache#addValues} over this store: the same contract, this store's recipe ({@link #addValuesScalar}). */
    void addValues(int layer, int block, int o0, int o1, int headOff, float[] weights, int wOff, int stride,
                   int heads, float[] out, int outOff, int n) {
        byte[] vq = values[layer];
        float[] vs = valueScales[layer];
        int first = block * blockSize;
        int g = 0;
        if (VECTOR && group % (2 * L) == 0) { // two vectors share a scale; query heads two at a time
            for (; g + 2 <= heads; g += 2) {
                int wo = wOff + g * stride - o0, yo = outOff + g * n;
                int d = 0;
                for (; d + 4 * L <= n; d += 4 * L) {
                    addValuesPair(vq, vs, first, o0, o1, headOff + d, weights, wo, wo + stride, out, yo + d, yo + n + d);
                }
                addValuesTail(vq, vs, first, o0, o1, headOff, d, n, weights, wo, out, yo);
                addValuesTail(vq, vs, first, o0, o1, headOff, d, n, weights, wo + stride, out, yo + n);
            }
        }
        for (; g < heads; g++) {
            int wo = wOff + g * stride - o0;
            int yo = outOff + g * n;
            int d = 0;
            if (VECTOR && group % L == 0) { // a vector's values share one scale
                for (; d + 4 * L <= n; d += 4 * L) {
                    addValues4(vq, vs, first, o0, o1, headOff + d, weights, wo, out, yo + d);
                }
            }
            addValuesTail(vq, vs, first, o0, o1, headOff, d, n, weights, wo, out, yo);
        }
    }

    /** Output values [from, n) of one head: single vectors where a vector's values share a scale, then scalar. */
    private void addValuesTail(byte[] vq, float[] vs, int first, int o0, int o1, int headOff, int from, int n,
                               float[] weights, int wo, float[] out, int yo) {
        int d = from;
        if (VECTOR && group % L == 0) {
            for (; d + L <= n; d += L) {
                int e = headOff + d, j = e / group;
                FloatVector a = FloatVector.fromArray(F, out, yo + d);
                for (int o = o0; o < o1; o++) {
                    int slot = first + o;
                    float coef = weights[wo + o] * vs[slot * groups + j];
                    a = b2f(vq, slot * kvDim + e).fma(FloatVector.broadcast(F, coef), a);
                }
                a.intoArray(out, yo + d);
            }
        }
        addValuesScalar(vq, vs, first, o0, o1, headOff, d, n, weights, wo, out, yo);
    }

    /**
     * {@link #addValues4} for two query heads (weights at wa and wb, outputs at ya and yb), each value vector converted
     * once for both; vectors 0-1 and 2-3 share a scale (the group holds a multiple of 2L values).
     */
    private void addValuesPair(byte[] vq, float[] vs, int first, int o0, int o1, int e, float[] weights, int wa,
                               int wb, float[] out, int ya, int yb) {
        int j0 = e / group, j1 = (e + 2 * L) / group;
        FloatVector a0 = FloatVector.fromArray(F, out, ya), a1 = FloatVector.fromArray(F, out, ya + L);
        FloatVector a2 = FloatVector.fromArray(F, out, ya + 2 * L), a3 = FloatVector.fromArray(F, out, ya + 3 * L);
        FloatVector b0 = FloatVector.fromArray(F, out, yb), b1 = FloatVector.fromArray(F, out, yb + L);
        FloatVector b2 = FloatVector.fromArray(F, out, yb + 2 * L), b3 = FloatVector.fromArray(F, out, yb + 3 * L);
        for (int o = o0; o < o1; o++) {
            int slot = first + o, x = slot * kvDim + e, s = slot * groups;
            float s0 = vs[s + j0], s1 = vs[s + j1], w = weights[wa + o], v = weights[wb + o];
            FloatVector ca = FloatVector.broadcast(F, w * s0), cb = FloatVector.broadcast(F, v * s0);
            FloatVector q = b2f(vq, x);
            a0 = q.fma(ca, a0);
            b0 = q.fma(cb, b0);
            q = b2f(vq, x + L);
            a1 = q.fma(ca, a1);
            b1 = q.fma(cb, b1);
            ca = FloatVector.broadcast(F, w * s1);
            cb = FloatVector.broadcast(F, v * s1);
            q = b2f(vq, x + 2 * L);
            a2 = q.fma(ca, a2);
            b2 = q.fma(cb, b2);
            q = b2f(vq, x + 3 * L);
            a3 = q.fma(ca, a3);
            b3 = q.fma(cb, b3);
        }
        a0.intoArray(out, ya);
        a1.intoArray(out, ya + L);
        a2.intoArray(out, ya + 2 * L);
        a3.intoArray(out, ya + 3 * L);
        b0.intoArray(out, yb);
        b1.intoArray(out, yb + L);
        b2.intoArray(out, yb + 2 * L);
        b3.intoArray(out, yb + 3 * L);
    }

    /** Four vectors of one head's output, from dimension {@code e} of the cache, over positions [o0, o1) in order. */
    private void addValues4(byte[] vq, float[] vs, int first, int o0, int o1, int e, float[] weights, int wo,
                            float[] out, int y) {
        int j0 = e / group, j1 = (e + L) / group, j2 = (e + 2 * L) / group, j3 = (e + 3 * L) / group;
        FloatVector a0 = FloatVector.fromArray(F, out, y);
        FloatVector a1 = FloatVector.fromArray(F, out, y + L);
        FloatVector a2 = FloatVector.fromArray(F, out, y + 2 * L);
        FloatVector a3 = FloatVector.fromArray(F, out, y + 3 * L);
        for (int o = o0; o < o1; o++) {
            int slot = first + o, x = slot * kvDim + e, s = slot * groups;
            float w = weights[wo + o];
            a0 = b2f(vq, x).fma(FloatVector.broadcast(F, w * vs[s + j0]), a0);
            a1 = b2f(vq, x + L).fma(FloatVector.broadcast(F, w * vs[s + j1]), a1);
            a2 = b2f(vq, x + 2 * L).fma(FloatVector.broadcast(F, w * vs[s + j2]), a2);
            a3 = b2f(vq, x + 3 * L).fma(FloatVector.broadcast(F, w * vs[s + j3]), a3);
        }
        a0.intoArray(out, y);
        a1.intoArray(out, y + L);
        a2.intoArray(out, y + 2 * L);
        a3.intoArray(out, y + 3 * L);
    }

    /**
     * Output values [from, n) of one head: per value one fma chain in position order, out = fma(q, weight * scale,
     * out), the recipe every vector lane above follows.
     */
    private void addValuesScalar(byte[] vq, float[] vs, int first, int o0, int o1, int headOff, int from, int n,
                                 float[] weights, int wo, float[] out, int yo) {
        for (int d = from; d < n; d++) {
            int e = headOff + d, j = e / group;
            float a = out[yo + d];
            for (int o = o0; o < o1; o++) {
                int slot = first + o;
                a = Math.fma(vq[slot * kvDim + e], weights[wo + o] * vs[slot * groups + j], a);
            }
            out[yo + d] = a;
        }
    }

    /** q[qOff..qOff+n) . key[slot][headOff..headOff+n), with {@link #keyScore}'s recipe. */
    float dotKey(int layer, int slot, int headOff, float[] q, int qOff, int n) {
        int o = slot % blockSize, block = slot / blockSize;
        return keyScore(keys[layer], keyScales[layer], (block * kvDim + headOff) * blockSize + o,
                (block * groups + headOff / group) * blockSize + o, q, qOff, n);
    }

    private static FloatVector b2f(byte[] q, int o) {
        return (FloatVector) ByteVector.fromArray(B, q, o).convertShape(VectorOperators.B2F, F, 0);
    }
}
