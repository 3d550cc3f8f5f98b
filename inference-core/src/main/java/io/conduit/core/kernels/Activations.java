package io.conduit.core.kernels;

import jdk.incubator.vector.FloatVector;
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
     * Softmax in place of {@code scale * v[off..off+n)}: scale, max, e^(x - max) by {@link Exp}, sum in index
     * order, multiply by 1/sum. Vector lanes and the scalar tails do the same per-element operations, so the
     * result is {@link #softmaxReference}'s bit for bit.
     */
    public static void softmax(float[] v, int off, int n, float scale) {
        FloatVector vs = FloatVector.broadcast(F, scale);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) FloatVector.fromArray(F, v, off + i).mul(vs).intoArray(v, off + i);
        for (; i < n; i++) v[off + i] *= scale;
        float max = Float.NEGATIVE_INFINITY;
        for (i = 0; i < n; i++) max = Math.max(max, v[off + i]);
        FloatVector vmax = FloatVector.broadcast(F, max);
        for (i = 0; i + F.length() <= n; i += F.length()) {
            Exp.exp(FloatVector.fromArray(F, v, off + i).sub(vmax)).intoArray(v, off + i);
        }
        for (; i < n; i++) v[off + i] = Exp.exp(v[off + i] - max);
        float sum = 0;
        for (i = 0; i < n; i++) sum += v[off + i];
        float inv = 1f / sum;
        FloatVector vinv = FloatVector.broadcast(F, inv);
        for (i = 0; i + F.length() <= n; i += F.length()) FloatVector.fromArray(F, v, off + i).mul(vinv).intoArray(v, off + i);
        for (; i < n; i++) v[off + i] *= inv;
    }

    /** The scalar definition of {@link #softmax}. */
    public static void softmaxReference(float[] v, int off, int n, float scale) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            v[off + i] *= scale;
            max = Math.max(max, v[off + i]);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = Exp.exp(v[off + i] - max);
            v[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) v[off + i] *= inv;
    }
}
