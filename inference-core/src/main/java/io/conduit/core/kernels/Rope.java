package io.conduit.core.kernels;

import io.conduit.core.model.RopeConfig;
import io.conduit.core.model.RopeLayout;

/**
 * Rotary position embedding applied in place to the heads of one token's query or key vector.
 *
 * <p>The cos/sin of each (position, frequency) are computed once and kept in a table that grows with the
 * longest position seen (the same double-precision formula as before, rounded to float the same way, so the
 * output is bit-identical to computing them per call). Before, every call recomputed them, twice per token
 * and layer (queries and keys): ~4k transcendental calls per token for a 30-layer model, serial.
 */
public final class Rope {
    private final double[] inverseFrequencies;
    private final int rotaryDims;
    private final RopeLayout layout;
    private float[] cos = new float[0];
    private float[] sin = new float[0];
    private int positions;

    public Rope(RopeConfig config) {
        this.inverseFrequencies = config.inverseFrequencies();
        this.rotaryDims = config.rotaryDims();
        this.layout = config.layout();
    }

    /** Rotates {@code heads} heads of {@code headDim} values starting at {@code off}, for position {@code pos}. */
    public void apply(float[] v, int off, int heads, int headDim, int pos) {
        int half = rotaryDims / 2;
        if (pos >= positions) grow(pos + 1);
        int row = pos * half;
        for (int i = 0; i < half; i++) {
            float c = cos[row + i];
            float s = sin[row + i];
            // Adjacent pairs (2i, 2i+1) for GGUF Llama; (i, i + d/2) for the half-split layout.
            int a = layout == RopeLayout.ADJACENT_PAIRS ? 2 * i : i;
            int b = layout == RopeLayout.ADJACENT_PAIRS ? 2 * i + 1 : i + half;
            for (int h = 0; h < heads; h++) {
                int base = off + h * headDim;
                float x0 = v[base + a];
                float x1 = v[base + b];
                v[base + a] = x0 * c - x1 * s;
                v[base + b] = x0 * s + x1 * c;
            }
        }
    }

    /** Scalar reference: the per-call formula the table caches. */
    public void applyReference(float[] v, int off, int heads, int headDim, int pos) {
        int half = rotaryDims / 2;
        for (int i = 0; i < half; i++) {
            double angle = pos * inverseFrequencies[i];
            float c = (float) Math.cos(angle);
            float s = (float) Math.sin(angle);
            int a = layout == RopeLayout.ADJACENT_PAIRS ? 2 * i : i;
            int b = layout == RopeLayout.ADJACENT_PAIRS ? 2 * i + 1 : i + half;
            for (int h = 0; h < heads; h++) {
                int base = off + h * headDim;
                float x0 = v[base + a];
                float x1 = v[base + b];
                v[base + a] = x0 * c - x1 * s;
                v[base + b] = x0 * s + x1 * c;
            }
        }
    }

    /** Not thread-safe, like the runner that owns this instance. */
    private void grow(int needed) {
        int half = rotaryDims / 2;
        int n = Math.max(needed, Math.max(64, 2 * positions));
        float[] c = java.util.Arrays.copyOf(cos, n * half);
        float[] s = java.util.Arrays.copyOf(sin, n * half);
        for (int p = positions; p < n; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * inverseFrequencies[i];
                c[p * half + i] = (float) Math.cos(angle);
                s[p * half + i] = (float) Math.sin(angle);
            }
        }
        cos = c;
        sin = s;
        positions = n;
    }
}
