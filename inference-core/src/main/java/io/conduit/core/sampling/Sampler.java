package io.conduit.core.sampling;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Picks the next token of one sequence from its logits, following vLLM's order of processing:
 * <ol>
 *   <li>penalties on the raw logits: repetition penalty over prompt + generated tokens (positive logits divided
 *       by it, negative ones multiplied), then {@code logit -= frequency * count + presence * (count > 0)} over
 *       the generated tokens only;</li>
 *   <li>temperature 0: greedy argmax (lowest id on ties), nothing else applies and no randomness is used;</li>
 *   <li>otherwise divide by the temperature, keep the top-k, then the top-p nucleus (of the distribution
 *       renormalised over the top-k), then the tokens with at least {@code minP} times the best token's
 *       probability, and draw from what remains, renormalised, with one {@code nextDouble()} of the
 *       sequence's own generator.</li>
 * </ol>
 * Log-probabilities are those of the raw model distribution (log_softmax of the logits as passed in, before
 * penalties and temperature), like vLLM's default.
 *
 * <p>One {@code Sampler} per sequence; it owns that sequence's random generator ({@code L64X128MixRandom} seeded
 * from {@link SamplingParams#seed()}, or randomly seeded), so a seeded sequence is reproducible whatever else is in
 * the batch. Not thread-safe. Scratch buffers (a few vocab-sized arrays) are per thread and shared by all samplers
 * running on that thread, so the per-token path allocates only the result (and the top-n list when requested).
 * The input logits are never modified.
 */
public final class Sampler {
    static final String RNG_ALGORITHM = "L64X128MixRandom";

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private final SamplingParams params;
    private final RandomGenerator rng;

    public Sampler(SamplingParams params) {
        this.params = Objects.requireNonNull(params, "params");
        RandomGeneratorFactory<RandomGenerator> factory = RandomGeneratorFactory.of(RNG_ALGORITHM);
        this.rng = params.seed() != null ? factory.create(params.seed()) : factory.create();
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * Samples one token.
     *
     * @param logits    buffer holding the logits (not modified)
     * @param offset    index of token 0's logit in {@code logits}
     * @param vocabSize number of logits
     * @param history   the sequence's tokens so far (for penalties); may be {@code null} = empty. History ids
     *                  &ge; {@code vocabSize} are ignored.
     * @throws IllegalArgumentException if every logit is -infinity or NaN (NaN is treated as -infinity)
     */
    public SampledToken sample(float[] logits, int offset, int vocabSize, TokenHistory history) {
        checkBounds(logits, offset, vocabSize);
        Workspace ws = WORKSPACE.get();
        float[] src = logits;
        int base = offset;
        if (params.hasPenalties() && history != null && history.size() > 0) {
            src = ws.penalized = grow(ws.penalized, vocabSize);
            System.arraycopy(logits, offset, src, 0, vocabSize);
            applyPenalties(src, 0, vocabSize, history, params);
            base = 0;
        }
        int token;
        if (params.greedy()) {
            token = argmax(src, base, vocabSize);
        } else {
            filter(src, base, vocabSize, ws);
            token = draw(ws, vocabSize, rng.nextDouble());
        }
        return withLogprobs(token, logits, offset, vocabSize, ws);
    }

    // ---------------------------------------------------------------------------------------------- penalties

    /**
     * Applies repetition (prompt + generated), then frequency and presence (generated only) penalties in place,
     * exactly as vLLM does. Ids of {@code history} outside the vocab are ignored.
     */
    static void applyPenalties(float[] logits, int offset, int vocabSize, TokenHistory history, SamplingParams p) {
        float rep = (float) p.repetitionPenalty();
        if (rep != 1.0f) {
            for (int i = 0, n = history.seenDistinctCount(); i < n; i++) {
                int id = history.seenDistinct(i);
                if (id < vocabSize) {
                    float v = logits[offset + id];
                    logits[offset + id] = v > 0 ? v / rep : v * rep;
                }
            }
        }
        double freq = p.frequencyPenalty();
        double pres = p.presencePenalty();
        if (freq != 0.0 || pres != 0.0) {
            for (int i = 0, n = history.generatedDistinctCount(); i < n; i++) {
                int id = history.generatedDistinct(i);
                if (id < vocabSize) {
                    int count = history.generatedOccurrences(id);
                    logits[offset + id] = (float) (logits[offset + id] - (freq * count + pres));
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- greedy

    /** Index of the largest logit, lowest id on ties; NaN is treated as -infinity. */
    static int argmax(float[] src, int base, int n) {
        int best = -1;
        float bestVal = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = src[base + i];
            if (v > bestVal) {
                bestVal = v;
                best = i;
            }
        }
        if (best < 0) {
            throw new IllegalArgumentException("all " + n + " logits are -infinity or NaN");
        }
        return best;
    }

    // ---------------------------------------------------------------------------------------------- filtering

    /**
     * Computes the sampling distribution into {@code ws}: either dense ({@code ws.weights[i]} for every id, 0 when
     * filtered out) or as {@code ws.count} candidates ({@code ws.keys} holding their rank keys, {@code ws.candWeights}
     * their weights). Weights are unnormalised probabilities {@code exp((l - max) / T)} (the best token weighs 1),
     * {@code ws.total} their sum over the kept tokens.
     */
    private void filter(float[] src, int base, int vocabSize, Workspace ws) {
        float max = src[base + argmax(src, base, vocabSize)];
        double invT = 1.0 / params.temperature();
        int k = params.topK() > 0 && params.topK() < vocabSize ? params.topK() : 0;
        boolean topP = params.topP() < 1.0;
        double minP = params.minP();

        if (k == 0) {
            // Dense: every id keeps its weight or 0. Top-p (if any) zeroes the tail without sorting the vocab,
            // min-p is then a threshold on the relative weight.
            double[] w = ws.weights = grow(ws.weights, vocabSize);
            double total = 0;
            if (topP) {
                nucleus(src, base, vocabSize, max, invT, ws);
                for (int i = 0; i < vocabSize; i++) {
                    if (w[i] < minP) {
                        w[i] = 0;
                    }
                    total += w[i];
                }
            } else {
                for (int i = 0; i < vocabSize; i++) {
                    double wi = weight(src[base + i], max, invT);
                    if (wi < minP) {
                        wi = 0;
                    }
                    w[i] = wi;
                    total += wi;
                }
            }
            ws.dense = true;
            ws.total = total;
            return;
        }
        ws.dense = false;
        topK(src, base, vocabSize, k, max, invT, ws);
        // Min-p: keep tokens with at least min_p times the best token's probability, i.e. weight >= min_p.
        // The candidates are sorted best first, so this cuts a suffix.
        int n = ws.count;
        double[] cw = ws.candWeights;
        if (minP > 0) {
            int r = 1;
            while (r < n && cw[r] >= minP) {
                r++;
            }
            n = r;
        }
        double total = 0;
        for (int r = 0; r < n; r++) {
            total += cw[r];
        }
        ws.count = n;
        ws.total = total;
    }

    /**
     * Top-k by partial selection (bounded heap, O(V log k)), sorted best first; then, if requested, top-p over the
     * distribution renormalised over those k tokens.
     */
    private void topK(float[] src, int base, int vocabSize, int k, float max, double invT, Workspace ws) {
        ws.keys = grow(ws.keys, k);
        int n = selectTop(src, base, vocabSize, k, ws.keys);
        Arrays.sort(ws.keys, 0, n);
        double[] cw = ws.candWeights = grow(ws.candWeights, n);
        double normalizer = 0;
        for (int r = 0; r < n; r++) {
            cw[r] = weight(src[base + keyId(ws.keys[r])], max, invT);
            normalizer += cw[r];
        }
        if (params.topP() < 1.0) {
            // Keep a token while the mass of the better tokens is below top_p (vLLM: drop where the ascending
            // cumulative sum is <= 1 - top_p). The best token is always kept.
            double limit = params.topP() * normalizer;
            double cum = 0;
            int r = 0;
            while (r < n && cum < limit) {
                cum += cw[r++];
            }
            n = r;
        }
        ws.count = n;
    }

    /**
     * Top-p without top-k, without sorting the vocabulary: fills {@code ws.weights} with every token's weight and
     * zeroes those outside the nucleus. Tokens are bucketed by log-weight (width 1/{@value #BUCKETS_PER_NAT} nat);
     * the bucket where the cumulative mass reaches top_p is found from the bucket masses, better buckets are kept
     * whole, worse ones dropped, and only the boundary bucket is sorted to cut it exactly. Same result as a full
     * sort: a token is kept iff the mass of the better tokens (higher logit, then lower id) is below top_p.
     */
    private void nucleus(float[] src, int base, int vocabSize, float max, double invT, Workspace ws) {
        double[] w = ws.weights;
        short[] bucketOf = ws.bucketOf = grow(ws.bucketOf, vocabSize);
        double[] bucketMass = ws.bucketMass;
        Arrays.fill(bucketMass, 0);
        double normalizer = 0;
        for (int i = 0; i < vocabSize; i++) {
            float l = src[base + i];
            double wi = weight(l, max, invT);
            int b = bucket(l, max, invT);
            w[i] = wi;
            bucketOf[i] = (short) b;
            bucketMass[b] += wi;
            normalizer += wi;
        }
        double limit = params.topP() * normalizer;
        int boundary = 0;
        double before = 0; // mass of the buckets better than the boundary one
        while (boundary < BUCKETS - 1 && before + bucketMass[boundary] < limit) {
            before += bucketMass[boundary++];
        }
        long[] keys = ws.keys = grow(ws.keys, 64);
        int n = 0;
        for (int i = 0; i < vocabSize; i++) {
            int b = bucketOf[i];
            if (b > boundary) {
                w[i] = 0;
            } else if (b == boundary) {
                if (n == keys.length) {
                    keys = ws.keys = Arrays.copyOf(keys, 2 * n);
                }
                keys[n++] = rankKey(src[base + i], i);
            }
        }
        Arrays.sort(keys, 0, n);
        double cum = before;
        for (int j = 0; j < n; j++) {
            int id = keyId(keys[j]);
            if (cum < limit) { // for the best token cum is 0: it is always kept
                cum += w[id];
            } else {
                w[id] = 0;
            }
        }
    }

    private static final int BUCKETS_PER_NAT = 8;
    private static final int BUCKETS = 64 * BUCKETS_PER_NAT + 1; // the last one holds weights below e^-64

    /** The log-weight bucket of a logit: 0 for the best tokens, growing as the weight falls. */
    private static int bucket(float logit, float max, double invT) {
        double d = ((double) logit - max) * invT;
        if (d != d) {
            return logit == max ? 0 : BUCKETS - 1;
        }
        double b = -d * BUCKETS_PER_NAT;
        return b < BUCKETS - 1 ? (int) b : BUCKETS - 1;
    }

    /** exp((l - max) / T) in double, 0 for NaN/-inf; +inf logits (max = +inf) weigh 1. */
    private static double weight(float logit, float max, double invT) {
        double d = ((double) logit - max) * invT;
        if (d != d) {
            return logit == max ? 1.0 : 0.0; // +inf - +inf, or 0 * inf for an extreme temperature
        }
        return Math.exp(d);
    }

    /** Draws from the distribution left in {@code ws} with the uniform number {@code u} in [0, 1). */
    private static int draw(Workspace ws, int vocabSize, double u) {
        double target = u * ws.total;
        double cum = 0;
        if (ws.dense) {
            double[] w = ws.weights;
            int last = -1;
            for (int i = 0; i < vocabSize; i++) {
                if (w[i] > 0) {
                    cum += w[i];
                    last = i;
                    if (target < cum) {
                        return i;
                    }
                }
            }
            return last; // rounding: u * total landed at the very end
        }
        for (int r = 0; r < ws.count; r++) {
            cum += ws.candWeights[r];
            if (target < cum) {
                return keyId(ws.keys[r]);
            }
        }
        int r = ws.count - 1; // rounding: u * total landed at the very end; take the last token that has weight
        while (r > 0 && !(ws.candWeights[r] > 0)) {
            r--;
        }
        return keyId(ws.keys[r]);
    }

    // ---------------------------------------------------------------------------------------------- logprobs

    private SampledToken withLogprobs(int token, float[] logits, int offset, int vocabSize, Workspace ws) {
        int n = params.logprobs();
        if (n < 0) {
            return new SampledToken(token, Float.NaN, List.of());
        }
        double logZ = logSumExp(logits, offset, vocabSize);
        float chosen = (float) (logits[offset + token] - logZ);
        if (n == 0) {
            return new SampledToken(token, chosen, List.of());
        }
        ws.topKeys = grow(ws.topKeys, n);
        int m = selectTop(logits, offset, vocabSize, Math.min(n, vocabSize), ws.topKeys);
        Arrays.sort(ws.topKeys, 0, m);
        TopLogprob[] top = new TopLogprob[m];
        for (int r = 0; r < m; r++) {
            int id = keyId(ws.topKeys[r]);
            top[r] = new TopLogprob(id, (float) (logits[offset + id] - logZ));
        }
        return new SampledToken(token, chosen, List.of(top));
    }

    /** log(sum(exp(x))) in double, stable (max subtracted); NaN counts as -infinity. */
    static double logSumExp(float[] x, int offset, int n) {
        float max = x[offset + argmax(x, offset, n)];
        if (max == Float.POSITIVE_INFINITY) {
            return Double.POSITIVE_INFINITY;
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp((double) x[offset + i] - max);
            if (e == e) {
                sum += e;
            }
        }
        return max + Math.log(sum);
    }

    // ---------------------------------------------------------------------------------------------- ranking

    /**
     * A long that sorts ascending in the order "higher logit first, then lower id": the high half is the logit's
     * bits mapped to an order-preserving int and complemented, the low half the id. NaN ranks as -infinity.
     */
    static long rankKey(float logit, int id) {
        float v = logit != logit ? Float.NEGATIVE_INFINITY : logit + 0.0f; // also folds -0.0 into +0.0
        int bits = Float.floatToRawIntBits(v);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~ordered << 32) | id;
    }

    static int keyId(long key) {
        return (int) key;
    }

    /**
     * Puts the keys of the {@code k} best tokens into {@code heap[0..k)} (unsorted) in O(V log k) with a bounded
     * max-heap of keys, so a small top-k never sorts the vocabulary. Returns the number of keys.
     */
    static int selectTop(float[] src, int base, int n, int k, long[] heap) {
        int size = 0;
        for (int i = 0; i < n; i++) {
            long key = rankKey(src[base + i], i);
            if (size < k) {
                int c = size++;
                while (c > 0) { // sift up
                    int parent = (c - 1) >>> 1;
                    if (heap[parent] >= key) {
                        break;
                    }
                    heap[c] = heap[parent];
                    c = parent;
                }
                heap[c] = key;
            } else if (key < heap[0]) {
                int c = 0;
                while (true) { // sift down
                    int child = 2 * c + 1;
                    if (child >= size) {
                        break;
                    }
                    if (child + 1 < size && heap[child + 1] > heap[child]) {
                        child++;
                    }
                    if (heap[child] <= key) {
                        break;
                    }
                    heap[c] = heap[child];
                    c = child;
                }
                heap[c] = key;
            }
        }
        return size;
    }

    // ---------------------------------------------------------------------------------------------- test hooks

    /**
     * The logits after the processing {@link #sample} applies: penalties, then (unless greedy) division by the
     * temperature, with the tokens removed by top-k / top-p / min-p (or whose probability underflows to 0) set to
     * -infinity. For tests and debugging; allocates.
     */
    float[] processedLogits(float[] logits, int offset, int vocabSize, TokenHistory history) {
        checkBounds(logits, offset, vocabSize);
        float[] out = Arrays.copyOfRange(logits, offset, offset + vocabSize);
        if (history != null) {
            applyPenalties(out, 0, vocabSize, history, params);
        }
        if (params.greedy()) {
            return out;
        }
        double[] p = distribution(out);
        for (int i = 0; i < vocabSize; i++) {
            out[i] = p[i] > 0 ? (float) (out[i] / params.temperature()) : Float.NEGATIVE_INFINITY;
        }
        return out;
    }

    /**
     * The exact distribution {@link #sample} draws from (after penalties, temperature and filtering), normalised;
     * for greedy, 1 at the argmax. For tests and debugging; allocates.
     */
    double[] samplingDistribution(float[] logits, int offset, int vocabSize, TokenHistory history) {
        checkBounds(logits, offset, vocabSize);
        float[] penalized = Arrays.copyOfRange(logits, offset, offset + vocabSize);
        if (history != null) {
            applyPenalties(penalized, 0, vocabSize, history, params);
        }
        if (params.greedy()) {
            double[] p = new double[vocabSize];
            p[argmax(penalized, 0, vocabSize)] = 1.0;
            return p;
        }
        return distribution(penalized);
    }

    private double[] distribution(float[] penalized) {
        Workspace ws = new Workspace();
        filter(penalized, 0, penalized.length, ws);
        double[] p = new double[penalized.length];
        if (ws.dense) {
            for (int i = 0; i < p.length; i++) {
                p[i] = ws.weights[i] / ws.total;
            }
        } else {
            for (int r = 0; r < ws.count; r++) {
                p[keyId(ws.keys[r])] = ws.candWeights[r] / ws.total;
            }
        }
        return p;
    }

    // ---------------------------------------------------------------------------------------------- plumbing

    private static void checkBounds(float[] logits, int offset, int vocabSize) {
        Objects.requireNonNull(logits, "logits");
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize must be positive: " + vocabSize);
        }
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
    }

    private static float[] grow(float[] a, int n) {
        return a.length >= n ? a : new float[Math.max(n, a.length + (a.length >> 1))];
    }

    private static double[] grow(double[] a, int n) {
        return a.length >= n ? a : new double[Math.max(n, a.length + (a.length >> 1))];
    }

    private static short[] grow(short[] a, int n) {
        return a.length >= n ? a : new short[Math.max(n, a.length + (a.length >> 1))];
    }

    private static long[] grow(long[] a, int n) {
        return a.length >= n ? a : new long[Math.max(n, a.length + (a.length >> 1))];
    }

    /** Per-thread scratch space, reused across tokens and samplers. */
    private static final class Workspace {
        float[] penalized = new float[0];
        double[] weights = new double[0];
        long[] keys = new long[0];
        double[] candWeights = new double[0];
        long[] topKeys = new long[0];
        double[] bucketMass = new double[BUCKETS];
        short[] bucketOf = new short[0];
        boolean dense;
        int count;
        double total;
    }
}
