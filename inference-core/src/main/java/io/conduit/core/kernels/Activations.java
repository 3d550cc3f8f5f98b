package io.conduit.core.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise activations. */
public final class Activations {
    private Activations() {
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /**
     * SwiGLU in place over {@code rows} rows of {@code cols}: gate[i] = silu(gate[i]) * up[i], with e^x from
     * {@link Exp}. Vectorized per row with a scalar tail that computes exactly what a lane does, so each element
     * gets the bits of {@link #swiGluReference} whatever the row length, the batch or the split over the pool.
     */
    public static void swiGlu(float[] gate, float[] up, int rows, int cols) {
        if ((long) rows * cols < 32_768) {
            for (int r = 0; r < rows; r++) swiGluRow(gate, up, r * cols, cols);
            return;
        }
        Parallel.forRange(rows, Math.max(1, 8192 / cols), (from, to) -> {
            for (int r = from; r < to; r++) swiGluRow(gate, up, r * cols, cols);
        });
    }

    static void swiGluRow(float[] gate, float[] up, int off, int n) {
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gate, off + i);
            FloatVector e = Exp.exp(g.neg());
            g.div(e.add(1f)).mul(FloatVector.fromArray(F, up, off + i)).intoArray(gate, off + i);
        }
        swiGluReference(gate, up, off + i, off + n);
    }

    /** The scalar definition over [from, to): silu(g) * u = g / (1 + e^-g) * u. */
    public static void swiGluReference(float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            float g = gate[i];
            gate[i] = g / (1f + Exp.exp(-g)) * up[i];
        }
    }

    /**
     * Softmax in place of {@code scale * v[off..off+n)}: scale, max, e^(x - max) by {@link Exp}, sum, multiply by
     * 1/sum. Lanewise in vectors, the last partial vector masked, so every element has the same per-element recipe
     * wherever it sits; the max is exact in any order; the sum has a fixed order that depends only on n (lane
     * i of the accumulator sums elements i, i + L, i + 2L.. in turn, then the lanes are added pairwise as a tree,
     * the way {@link #softmaxReference} writes it out).
     */
    public static void softmax(float[] v, int off, int n, float scale) {
        int l = F.length();
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i += l) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector x = FloatVector.fromArray(F, v, off + i, m).mul(scale);
            x.intoArray(v, off + i, m);
            vmax = vmax.blend(vmax.max(x), m);
        }
        FloatVector max = FloatVector.broadcast(F, vmax.reduceLanes(VectorOperators.MAX));
        FloatVector sum = FloatVector.zero(F);
        for (int i = 0; i < n; i += l) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector e = Exp.exp(FloatVector.fromArray(F, v, off + i, m).sub(max));
            e.intoArray(v, off + i, m);
            sum = sum.add(e, m);
        }
        for (int k = l / 2; k >= 1; k /= 2) sum = sum.add(sum.rearrange(XOR[Integer.numberOfTrailingZeros(k)]));
        FloatVector inv = FloatVector.broadcast(F, 1f / sum.lane(0));
        for (int i = 0; i < n; i += l) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, v, off + i, m).mul(inv).intoArray(v, off + i, m);
        }
    }

    /** lane -> lane ^ 2^k: the pairs of each level of the sum's tree. */
    private static final VectorShuffle<Float>[] XOR = xorShuffles();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] xorShuffles() {
        int levels = Integer.numberOfTrailingZeros(F.length());
        VectorShuffle<Float>[] s = new VectorShuffle[Math.max(1, levels)];
        for (int k = 0; k < levels; k++) {
            int bit = 1 << k;
            s[k] = VectorShuffle.fromOp(F, lane -> lane ^ bit);
        }
        return s;
    }

    /** The scalar definition of {@link #softmax}, for vectors of {@code lanes} floats. */
    public static void softmaxReference(float[] v, int off, int n, float scale, int lanes) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            v[off + i] *= scale;
            max = Math.max(max, v[off + i]);
        }
        float[] partial = new float[lanes];
        for (int i = 0; i < n; i++) {
            float e = Exp.exp(v[off + i] - max);
            v[off + i] = e;
            partial[i % lanes] += e;
        }
        for (int k = lanes / 2; k >= 1; k /= 2) {
            float[] next = new float[lanes];
            for (int i = 0; i < lanes; i++) next[i] = partial[i] + partial[i ^ k];
            partial = next;
        }
        float inv = 1f / partial[0];
        for (int i = 0; i < n; i++) v[off + i] *= inv;
    }
}
