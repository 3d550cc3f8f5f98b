package io.conduit.core.kernels;

/** Normalisation layers. */
public final class Norms {
    private Norms() {
    }

    /** out = x / sqrt(mean(x^2) + eps) * weight, over one row of {@code n} values. */
    public static void rmsNorm(float[] x, int xOff, float[] weight, float eps, float[] out, int outOff, int n) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            ss += v * v;
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) out[outOff + i] = x[xOff + i] * scale * weight[i];
    }
}
