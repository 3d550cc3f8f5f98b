package io.conduit.core.testing;

/**
 * How far a product with int8 activations (Q4_0's int16 kernel, {@code MatMul.quantizesActivations}) may sit from the
 * float one: each activation moves by at most half a step, {@code max|x| / 254} of its block of 32, so the product by
 * {@code sum_b (max_b|x| / 254) sum_{k in b} |w_k|}, plus float rounding.
 */
public final class Int8ActivationBound {
    private Int8ActivationBound() {
    }

    /** The bound for weight row {@code w} and the activation row at {@code x[xOff..]}. */
    public static double of(float[] w, float[] x, int xOff) {
        double bound = 0, mag = 0;
        for (int b = 0; b < w.length; b += 32) {
            double amax = 0, wsum = 0;
            for (int k = b; k < b + 32; k++) {
                amax = Math.max(amax, Math.abs(x[xOff + k]));
                wsum += Math.abs(w[k]);
                mag += Math.abs((double) w[k] * x[xOff + k]);
            }
            bound += amax / 254 * wsum;
        }
        return bound * 1.001 + 1e-5 * mag;
    }
}
