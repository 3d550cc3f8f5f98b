package io.conduit.core.sampling;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * An independent, deliberately naive re-implementation of the vLLM sampling pipeline in double precision with
 * full sorts (the way vLLM writes it: top-k mask, softmax, ascending cumsum {@code <= 1 - top_p} masked, min-p
 * relative to the max probability), used as the oracle for the tests.
 */
final class SamplingReference {
    private SamplingReference() {
    }

    static double[] penalize(float[] logits, int[] prompt, int[] generated, SamplingParams p) {
        double[] x = new double[logits.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = logits[i];
        }
        boolean[] seen = new boolean[x.length];
        int[] counts = new int[x.length];
        for (int t : prompt) {
            seen[t] = true;
        }
        for (int t : generated) {
            seen[t] = true;
            counts[t]++;
        }
        for (int i = 0; i < x.length; i++) {
            if (seen[i]) {
                x[i] = x[i] > 0 ? x[i] / p.repetitionPenalty() : x[i] * p.repetitionPenalty();
            }
            x[i] -= p.frequencyPenalty() * counts[i] + p.presencePenalty() * (counts[i] > 0 ? 1 : 0);
        }
        return x;
    }

    static double[] softmax(double[] x) {
        double max = Arrays.stream(x).max().orElseThrow();
        double[] e = Arrays.stream(x).map(v -> Math.exp(v - max)).toArray();
        double sum = Arrays.stream(e).sum();
        return Arrays.stream(e).map(v -> v / sum).toArray();
    }

    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float f : logits) {
            max = Math.max(max, f);
        }
        double sum = 0;
        for (float f : logits) {
            sum += Math.exp(f - max);
        }
        double logZ = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = logits[i] - logZ;
        }
        return out;
    }

    /** The distribution vLLM samples from (non-greedy). */
    static double[] distribution(double[] penalized, SamplingParams p) {
        int n = penalized.length;
        double[] x = Arrays.stream(penalized).map(v -> v / p.temperature()).toArray();
        // rank: higher logit first, then lower id
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -x[i]).thenComparingInt(i -> i));
        boolean[] keep = new boolean[n];
        Arrays.fill(keep, true);
        if (p.topK() > 0) {
            for (int r = p.topK(); r < n; r++) {
                keep[order[r]] = false;
            }
        }
        if (p.topP() < 1) {
            double[] probs = masked(x, keep);
            double cum = 0;
            for (int r = n - 1; r >= 1; r--) { // ascending order, the best token (r = 0) is always kept
                cum += probs[order[r]];
                if (cum <= 1 - p.topP()) {
                    keep[order[r]] = false;
                }
            }
        }
        if (p.minP() > 0) {
            double[] probs = masked(x, keep);
            double max = Arrays.stream(probs).max().orElseThrow();
            for (int i = 0; i < n; i++) {
                if (probs[i] < p.minP() * max) {
                    keep[i] = false;
                }
            }
        }
        return masked(x, keep);
    }

    private static double[] masked(double[] x, boolean[] keep) {
        double[] y = x.clone();
        for (int i = 0; i < y.length; i++) {
            if (!keep[i]) {
                y[i] = Double.NEGATIVE_INFINITY;
            }
        }
        return softmax(y);
    }
}
