package io.conduit.core.model;

/**
 * Rotary position embedding settings.
 *
 * @param theta         frequency base
 * @param rotaryDims    leading dimensions of each head that are rotated (usually the whole head)
 * @param scalingType   "none", "linear" or "llama3"
 * @param factor        scaling factor (linear: positions are divided by it; llama3: low frequencies are)
 * @param lowFreqFactor llama3 only
 * @param highFreqFactor llama3 only
 * @param originalContext llama3 only: the context length the model was pre-trained with
 * @param freqFactors   per-frequency divisors from a GGUF {@code rope_freqs.weight} tensor, or null
 */
public record RopeConfig(double theta, int rotaryDims, RopeLayout layout, String scalingType, double factor,
                         double lowFreqFactor, double highFreqFactor, int originalContext, float[] freqFactors) {

    public static RopeConfig plain(double theta, int rotaryDims, RopeLayout layout) {
        return new RopeConfig(theta, rotaryDims, layout, "none", 1, 1, 1, 0, null);
    }

    public RopeConfig withFreqFactors(float[] factors) {
        return new RopeConfig(theta, rotaryDims, layout, scalingType, factor, lowFreqFactor, highFreqFactor,
                originalContext, factors);
    }

    /** Inverse frequency of each rotated pair, with scaling applied; {@code rotaryDims / 2} values. */
    public double[] inverseFrequencies() {
        int pairs = rotaryDims / 2;
        double[] inv = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            double f = Math.pow(theta, -2.0 * i / rotaryDims);
            f = switch (scalingType) {
                case "linear" -> f / factor;
                case "llama3" -> llama3Scaled(f);
                default -> f;
            };
            if (freqFactors != null) f /= freqFactors[i];
            inv[i] = f;
        }
        return inv;
    }

    /** Llama 3.1's rule: long wavelengths are slowed by {@code factor}, short ones kept, a smooth ramp between. */
    private double llama3Scaled(double f) {
        double wavelen = 2 * Math.PI / f;
        double lowWavelen = originalContext / lowFreqFactor;
        double highWavelen = originalContext / highFreqFactor;
        if (wavelen < highWavelen) return f;
        if (wavelen > lowWavelen) return f / factor;
        double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * f / factor + smooth * f;
    }
}
