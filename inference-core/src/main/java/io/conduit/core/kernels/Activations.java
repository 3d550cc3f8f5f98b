package io.conduit.core.kernels;

/** Element-wise activations. */
public final class Activations {
    private Activations() {
    }

    /**
     * SwiGLU in place: gate[i] = silu(gate[i]) * up[i]. Split over the pool for batches (each element is
     * independent, so the result is the same whatever the split); {@link #swiGluReference} is the plain loop.
     */
    public static void swiGlu(float[] gate, float[] up, int n) {
        if (n < 32_768) {
            swiGluReference(gate, up, 0, n);
            return;
        }
        Parallel.forRange(n, 8192, (from, to) -> swiGluReference(gate, up, from, to));
    }

    /** The scalar definition over [from, to). */
    public static void swiGluReference(float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /** Softmax in place over v[off..off+n). */
    public static void softmax(float[] v, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, v[off + i]);
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(v[off + i] - max);
            v[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) v[off + i] *= inv;
    }
}
