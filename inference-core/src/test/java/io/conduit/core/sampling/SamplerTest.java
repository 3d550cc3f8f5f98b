package io.conduit.core.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SamplerTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private static SamplingParams.Builder params() {
        return SamplingParams.builder();
    }

    private static int sample(SamplingParams p, float... logits) {
        return new Sampler(p).sample(logits, 0, logits.length, null).tokenId();
    }

    // ------------------------------------------------------------------------------------------ greedy

    @Test
    void greedyPicksTheArgmax() {
        SamplingParams greedy = params().temperature(0).build();
        assertThat(sample(greedy, 0.1f, 3.2f, -1f, 3.1f)).isEqualTo(1);
        assertThat(sample(greedy, -5f, -4f, -3f)).isEqualTo(2);
        assertThat(sample(greedy, 7f)).isZero();
    }

    @Test
    void greedyBreaksTiesTowardsTheLowestId() {
        SamplingParams greedy = params().temperature(0).build();
        assertThat(sample(greedy, 1f, 5f, 5f, 2f, 5f)).isEqualTo(1);
        assertThat(sample(greedy, 0f, 0f, 0f)).isZero();
    }

    @Test
    void greedyIgnoresNanAndRejectsAllMaskedLogits() {
        SamplingParams greedy = params().temperature(0).build();
        assertThat(sample(greedy, Float.NaN, 1f, NEG_INF)).isEqualTo(1);
        assertThatThrownBy(() -> sample(greedy, NEG_INF, NEG_INF)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sample(params().build(), NEG_INF, Float.NaN))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void greedyIgnoresTopKTopPMinP() {
        // the filters could only remove tokens other than the argmax, so greedy must be unaffected
        SamplingParams p = params().temperature(0).topK(1).topP(0.01).minP(1).build();
        assertThat(sample(p, 0f, 2f, 1f)).isEqualTo(1);
    }

    @Test
    void vanishingTemperatureBehavesLikeGreedy() {
        float[] logits = {0.5f, 2.0f, 1.9f, -3f, 1.0f};
        for (double t : new double[] {1e-2, 1e-6, 1e-300, Double.MIN_VALUE}) {
            Sampler s = new Sampler(params().temperature(t).seed(7L).build());
            for (int i = 0; i < 200; i++) {
                assertThat(s.sample(logits, 0, logits.length, null).tokenId()).as("T=%s", t).isEqualTo(1);
            }
            double[] dist = s.samplingDistribution(logits, 0, logits.length, null);
            assertThat(dist[1]).as("T=%s", t).isCloseTo(1.0, within(1e-4));
        }
        // and at a moderate temperature the runner-up does show up, so the loop above is not vacuous
        Sampler warm = new Sampler(params().temperature(1).seed(7L).build());
        boolean sawOther = false;
        for (int i = 0; i < 200 && !sawOther; i++) {
            sawOther = warm.sample(logits, 0, logits.length, null).tokenId() != 1;
        }
        assertThat(sawOther).isTrue();
    }

    @Test
    void readsTheRowAtTheGivenOffsetOfABatchBuffer() {
        float[] batch = {9f, 0f, 0f, /* row 1 */ 0f, 0f, 9f, /* row 2 */ 0f, 9f, 0f};
        Sampler s = new Sampler(params().temperature(0).build());
        assertThat(s.sample(batch, 3, 3, null).tokenId()).isEqualTo(2);
        assertThat(s.sample(batch, 6, 3, null).tokenId()).isEqualTo(1);
        assertThatThrownBy(() -> s.sample(batch, 7, 3, null)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void doesNotModifyTheCallersLogits() {
        float[] logits = {1f, 2f, 3f, -1f};
        float[] copy = logits.clone();
        TokenHistory h = new TokenHistory(new int[] {0, 1, 2});
        h.append(2);
        new Sampler(params().repetitionPenalty(1.5).presencePenalty(1).frequencyPenalty(1).temperature(0.5)
                .topK(2).logprobs(2).build()).sample(logits, 0, 4, h);
        assertThat(logits).containsExactly(copy);
    }

    // ------------------------------------------------------------------------------------------ statistics

    private static final int DRAWS = 20_000;

    /** Draws DRAWS tokens and checks each frequency is within 4.5 standard errors (+0.002) of {@code expected}. */
    private static void assertEmpiricalMatches(SamplingParams p, float[] logits, double[] expected) {
        Sampler s = new Sampler(p);
        int[] counts = new int[logits.length];
        for (int i = 0; i < DRAWS; i++) {
            counts[s.sample(logits, 0, logits.length, null).tokenId()]++;
        }
        for (int i = 0; i < logits.length; i++) {
            double freq = counts[i] / (double) DRAWS;
            if (expected[i] == 0) {
                assertThat(counts[i]).as("excluded token %d must never be drawn", i).isZero();
            } else {
                double tol = 4.5 * Math.sqrt(expected[i] * (1 - expected[i]) / DRAWS) + 0.002;
                assertThat(freq).as("token %d (expected %.4f)", i, expected[i]).isCloseTo(expected[i], within(tol));
            }
        }
    }

    private static final float[] SMALL = {1.0f, 2.0f, 0.5f, -1.0f, 1.5f, 0.0f};

    private static double[] softmaxOver(float[] logits, double t, int... kept) {
        double[] x = new double[logits.length];
        java.util.Arrays.fill(x, Double.NEGATIVE_INFINITY);
        for (int i : kept) {
            x[i] = logits[i] / t;
        }
        return SamplingReference.softmax(x);
    }

    @Test
    void empiricalFrequenciesMatchSoftmaxOverTemperature() {
        for (double t : new double[] {1.0, 0.7, 1.8}) {
            assertEmpiricalMatches(params().temperature(t).seed(1234L).build(), SMALL,
                    softmaxOver(SMALL, t, 0, 1, 2, 3, 4, 5));
        }
    }

    @Test
    void topKDrawsOnlyFromTheKBestRenormalized() {
        // best three: ids 1 (2.0), 4 (1.5), 0 (1.0)
        assertEmpiricalMatches(params().temperature(0.8).topK(3).seed(99L).build(), SMALL,
                softmaxOver(SMALL, 0.8, 1, 4, 0));
    }

    @Test
    void topPDrawsOnlyFromTheNucleusRenormalized() {
        double[] full = softmaxOver(SMALL, 1.0, 0, 1, 2, 3, 4, 5);
        // ranked: 1 (.420), 4 (.255), 0 (.154), 2 (.094), 5 (.057), 3 (.021): the smallest prefix reaching 0.75
        // is {1, 4, 0} (.674 before token 0, .829 with it)
        assertThat(full[1] + full[4]).isLessThan(0.75);
        assertThat(full[1] + full[4] + full[0]).isGreaterThan(0.75);
        assertEmpiricalMatches(params().topP(0.75).seed(5L).build(), SMALL, softmaxOver(SMALL, 1.0, 1, 4, 0));
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheBest() {
        // p_i / p_max = exp(l_i - 2): ids 1 (1), 4 (.61), 0 (.37), 2 (.22), 5 (.14), 3 (.05); min_p 0.3 keeps 1,4,0
        assertEmpiricalMatches(params().minP(0.3).seed(6L).build(), SMALL, softmaxOver(SMALL, 1.0, 1, 4, 0));
    }

    @Test
    void filtersCombineInVllmOrder() {
        // top-k 4 keeps 1,4,0,2; top-p 0.6 over those renormalized: p(1)=.453, p(4)=.275 -> keeps 1,4
        double[] k4 = softmaxOver(SMALL, 1.0, 1, 4, 0, 2);
        assertThat(k4[1]).isLessThan(0.6);
        assertThat(k4[1] + k4[4]).isGreaterThan(0.6);
        assertEmpiricalMatches(params().topK(4).topP(0.6).seed(8L).build(), SMALL, softmaxOver(SMALL, 1.0, 1, 4));
        // min-p after top-k: 0.5 keeps 1 and 4 (ratio .61) only
        assertEmpiricalMatches(params().topK(5).minP(0.5).temperature(1.0).seed(9L).build(), SMALL,
                softmaxOver(SMALL, 1.0, 1, 4));
    }

    @Test
    void topKTiesAtTheBoundaryKeepTheLowestIds() {
        float[] logits = {1f, 3f, 1f, 1f, 0f};
        Sampler s = new Sampler(params().topK(2).seed(3L).build());
        double[] dist = s.samplingDistribution(logits, 0, logits.length, null);
        assertThat(dist[0]).isGreaterThan(0);
        assertThat(dist[2]).isZero();
        assertThat(dist[3]).isZero();
    }

    // ------------------------------------------------------------------------------------------ exact distribution

    static Stream<SamplingParams> largeVocabConfigs() {
        return Stream.of(
                params().build(),
                params().temperature(0.6).build(),
                params().topK(40).build(),
                params().topK(1).build(),
                params().topK(2000).temperature(1.3).build(),
                params().topP(0.9).build(),
                params().topP(0.999).temperature(2).build(),
                params().topP(0.3).temperature(0.5).build(),
                params().minP(0.05).build(),
                params().topK(1000).topP(0.95).minP(0.01).temperature(0.8).build(),
                params().topK(50).topP(0.8).build(),
                params().topP(0.9).minP(0.1).repetitionPenalty(1.3).presencePenalty(0.5).frequencyPenalty(0.4)
                        .build());
    }

    /**
     * A 50k vocab exercises the partial-selection paths (heap top-k, bucketed nucleus); scale 30 spreads the
     * logits over hundreds of nats so the nucleus buckets run into their clamped tail, and the rounded logits
     * create many exact ties.
     */
    @ParameterizedTest
    @MethodSource("largeVocabConfigs")
    void samplingDistributionEqualsTheNaiveFullSortReference(SamplingParams p) {
        for (double scale : new double[] {3, 30, 0.5}) {
            Random r = new Random(2024);
            int vocab = 50_000;
            float[] logits = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                double x = r.nextGaussian() * scale;
                logits[i] = (float) (scale == 0.5 ? Math.rint(x * 4) / 4 : x);
            }
            int[] prompt = r.ints(300, 0, vocab).toArray();
            int[] generated = r.ints(100, 0, 200).toArray();
            TokenHistory h = new TokenHistory(prompt);
            for (int g : generated) {
                h.append(g);
            }
            double[] expected = SamplingReference.distribution(
                    SamplingReference.penalize(logits, prompt, generated, p), p);
            Sampler s = new Sampler(p.toBuilder().seed(11L).build());
            double[] actual = s.samplingDistribution(logits, 0, vocab, h);
            for (int i = 0; i < vocab; i++) {
                assertThat(actual[i] > 0).as("scale %s: support of token %d", scale, i).isEqualTo(expected[i] > 0);
                assertThat(actual[i]).as("scale %s: p(%d)", scale, i)
                        .isCloseTo(expected[i], within(1e-6 * Math.max(1, expected[i])));
            }
            // and sample() draws only from that support
            for (int i = 0; i < 200; i++) {
                int t = s.sample(logits, 0, vocab, h).tokenId();
                assertThat(expected[t]).as("scale %s: drawn token %d", scale, t).isGreaterThan(0);
            }
        }
    }

    @Test
    void topPTiesAreCutByLowestIdLikeTheReference() {
        float[] equal = {0f, 0f, 0f, 0f};
        SamplingParams p = params().topP(0.5).build();
        double[] dist = new Sampler(p).samplingDistribution(equal, 0, 4, null);
        assertThat(dist).containsExactly(new double[] {0.5, 0.5, 0, 0}, within(1e-12));
        assertThat(SamplingReference.distribution(new double[] {0, 0, 0, 0}, p))
                .containsExactly(new double[] {0.5, 0.5, 0, 0}, within(1e-12));
        // same through the top-k path
        double[] viaTopK = new Sampler(params().topK(3).topP(0.5).build()).samplingDistribution(equal, 0, 4, null);
        assertThat(viaTopK).containsExactly(new double[] {0.5, 0.5, 0, 0}, within(1e-12));
    }

    // ------------------------------------------------------------------------------------------ reproducibility

    /** Runs a fake model for {@code steps} tokens: logits depend on the step and the previous token. */
    private static List<Integer> generate(Sampler s, int steps, int vocab) {
        List<Integer> out = new ArrayList<>();
        TokenHistory h = new TokenHistory(new int[] {1, 2, 3});
        float[] logits = new float[vocab];
        int prev = 3;
        for (int step = 0; step < steps; step++) {
            Random model = new Random(step * 31L + prev);
            for (int i = 0; i < vocab; i++) {
                logits[i] = (float) model.nextGaussian();
            }
            int t = s.sample(logits, 0, vocab, h).tokenId();
            h.append(t);
            out.add(t);
            prev = t;
        }
        return out;
    }

    private static final SamplingParams REPRO = SamplingParams.builder().temperature(0.9).topP(0.95)
            .frequencyPenalty(0.2).seed(4242L).build();

    @Test
    void sameSeedGivesTheSameSequence() {
        List<Integer> a = generate(new Sampler(REPRO), 300, 1000);
        List<Integer> b = generate(new Sampler(REPRO), 300, 1000);
        assertThat(a).isEqualTo(b);
        assertThat(a.stream().distinct().count()).as("non-trivial sequence").isGreaterThan(50);
    }

    @Test
    void differentSeedsGiveDifferentSequences() {
        List<Integer> a = generate(new Sampler(REPRO), 300, 1000);
        List<Integer> b = generate(new Sampler(REPRO.toBuilder().seed(4243L).build()), 300, 1000);
        assertThat(a).isNotEqualTo(b);
        List<Integer> c = generate(new Sampler(REPRO.toBuilder().seed(null).build()), 300, 1000);
        List<Integer> d = generate(new Sampler(REPRO.toBuilder().seed(null).build()), 300, 1000);
        assertThat(c).as("unseeded samplers are randomly seeded").isNotEqualTo(d);
    }

    @Test
    void seededSequenceIsIndependentOfTheRestOfTheBatch() {
        List<Integer> alone = generate(new Sampler(REPRO), 200, 1000);
        // interleave with other sequences (other params, vocab sizes) on the same thread, sharing scratch space
        Sampler mine = new Sampler(REPRO);
        Sampler other1 = new Sampler(params().topK(5).build());
        Sampler other2 = new Sampler(params().temperature(0).repetitionPenalty(1.2).build());
        List<Integer> batched = new ArrayList<>();
        TokenHistory h = new TokenHistory(new int[] {1, 2, 3});
        TokenHistory h2 = new TokenHistory(new int[] {4});
        float[] logits = new float[1000];
        float[] noise = new float[5000];
        Random nr = new Random(1);
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) nr.nextGaussian();
        }
        int prev = 3;
        for (int step = 0; step < 200; step++) {
            other1.sample(noise, 0, 5000, null);
            Random model = new Random(step * 31L + prev);
            for (int i = 0; i < 1000; i++) {
                logits[i] = (float) model.nextGaussian();
            }
            int t = mine.sample(logits, 0, 1000, h).tokenId();
            h.append(t);
            batched.add(t);
            prev = t;
            h2.append(other2.sample(noise, 0, 3000, h2).tokenId());
        }
        assertThat(batched).isEqualTo(alone);
    }

    // ------------------------------------------------------------------------------------------ penalties

    @Test
    void penaltiesGiveHandComputedLogits() {
        float[] logits = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 1.0f};
        TokenHistory h = new TokenHistory(new int[] {0, 1});
        h.append(2);
        h.append(2);
        h.append(3);
        SamplingParams p = params().temperature(0).repetitionPenalty(2.0).presencePenalty(0.5)
                .frequencyPenalty(0.25).build();
        float[] out = new Sampler(p).processedLogits(logits, 0, logits.length, h);
        // 0: prompt, positive: 2/2 = 1
        // 1: prompt, negative: -1*2 = -2
        // 2: generated twice: 0.5/2 = 0.25, then -(0.25*2 + 0.5) = -0.75
        // 3: generated once: 3/2 = 1.5, then -(0.25 + 0.5) = 0.75
        // 4, 5: unseen, untouched
        assertThat(out).containsExactly(1.0f, -2.0f, -0.75f, 0.75f, -2.0f, 1.0f);
        // greedy on the penalized logits: tokens 0 and 5 tie at 1.0 (token 3 dropped from 3.0 to 0.75) -> lowest id
        assertThat(new Sampler(p).sample(logits, 0, logits.length, h).tokenId()).isZero();
    }

    @Test
    void presenceAndFrequencyIgnoreThePromptButRepetitionDoesNot() {
        float[] logits = {1.0f, 1.0f, 1.0f};
        TokenHistory h = new TokenHistory(new int[] {0, 0, 0});
        h.append(1);
        float[] pf = new Sampler(params().temperature(0).presencePenalty(1.0).frequencyPenalty(0.5).build())
                .processedLogits(logits, 0, 3, h);
        assertThat(pf).containsExactly(1.0f, -0.5f, 1.0f);
        float[] rep = new Sampler(params().temperature(0).repetitionPenalty(1.25).build())
                .processedLogits(logits, 0, 3, h);
        assertThat(rep).containsExactly(0.8f, 0.8f, 1.0f);
        // negative penalties reward instead
        float[] neg = new Sampler(params().temperature(0).presencePenalty(-1.0).frequencyPenalty(-0.5).build())
                .processedLogits(logits, 0, 3, h);
        assertThat(neg).containsExactly(1.0f, 2.5f, 1.0f);
    }

    @Test
    void penaltiesComeBeforeTemperatureAndFilters() {
        float[] logits = {4.0f, 2.0f, 1.0f, -3.0f};
        TokenHistory h = new TokenHistory(new int[0]);
        h.append(0);
        SamplingParams p = params().temperature(0.5).repetitionPenalty(2.0).frequencyPenalty(0.5).topK(2).build();
        float[] out = new Sampler(p).processedLogits(logits, 0, 4, h);
        // token 0: 4/2 - 0.5 = 1.5, then /0.5 = 3; token 1: 2/0.5 = 4; top-2 keeps 1 and 0
        assertThat(out).containsExactly(3.0f, 4.0f, NEG_INF, NEG_INF);
    }

    @Test
    void repetitionPenaltyChangesTheGreedyChoice() {
        float[] logits = {3.0f, 2.0f};
        TokenHistory h = new TokenHistory(new int[] {0});
        assertThat(new Sampler(params().temperature(0).repetitionPenalty(2).build())
                .sample(logits, 0, 2, h).tokenId()).isEqualTo(1);
        assertThat(new Sampler(params().temperature(0).build()).sample(logits, 0, 2, h).tokenId()).isZero();
    }

    @Test
    void historyIdsBeyondTheVocabAreIgnored() {
        TokenHistory h = new TokenHistory(new int[] {10});
        h.append(20);
        float[] out = new Sampler(params().temperature(0).repetitionPenalty(2).presencePenalty(1).build())
                .processedLogits(new float[] {1f, 2f}, 0, 2, h);
        assertThat(out).containsExactly(1f, 2f);
    }

    // ------------------------------------------------------------------------------------------ logprobs

    @Test
    void logprobsAreRawLogSoftmaxEvenWithPenaltiesTemperatureAndFilters() {
        Random r = new Random(77);
        float[] logits = new float[2000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (r.nextGaussian() * 4);
        }
        double[] ref = SamplingReference.logSoftmax(logits);
        TokenHistory h = new TokenHistory(new int[] {1, 2, 3});
        SamplingParams p = params().temperature(0.5).topK(10).repetitionPenalty(1.5).presencePenalty(1)
                .logprobs(5).seed(1L).build();
        Sampler s = new Sampler(p);
        Integer[] order = java.util.stream.IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
        java.util.Arrays.sort(order, (a, b) -> Double.compare(ref[b], ref[a]));
        for (int step = 0; step < 20; step++) {
            SampledToken t = s.sample(logits, 0, logits.length, h);
            h.append(t.tokenId());
            assertThat((double) t.logprob()).isCloseTo(ref[t.tokenId()], within(1e-5));
            assertThat(t.topLogprobs()).hasSize(5);
            for (int i = 0; i < 5; i++) {
                assertThat(t.topLogprobs().get(i).tokenId()).isEqualTo(order[i]);
                assertThat((double) t.topLogprobs().get(i).logprob()).isCloseTo(ref[order[i]], within(1e-5));
            }
        }
    }

    @Test
    void logprobsAreStableForExtremeLogits() {
        float[] logits = {1000f, 0f, -1000f, 999f};
        SampledToken t = new Sampler(params().temperature(0).logprobs(4).build()).sample(logits, 0, 4, null);
        double log1pe = Math.log1p(Math.exp(-1));
        assertThat((double) t.logprob()).isCloseTo(-log1pe, within(1e-6));
        assertThat(t.topLogprobs()).extracting(TopLogprob::tokenId).containsExactly(0, 3, 1, 2);
        assertThat((double) t.topLogprobs().get(1).logprob()).isCloseTo(-1 - log1pe, within(1e-6));
        assertThat((double) t.topLogprobs().get(2).logprob()).isCloseTo(-1000 - log1pe, within(1e-3));
        assertThat(t.topLogprobs().get(3).logprob()).isEqualTo(-2000f - (float) log1pe, within(1e-2f));
    }

    @Test
    void topLogprobsAreSortedDescendingWithTiesByIdAndCappedAtTheVocab() {
        float[] logits = {2f, 1f, 2f, 1f, 0f};
        SampledToken t = new Sampler(params().temperature(0).logprobs(3).build()).sample(logits, 0, 5, null);
        assertThat(t.topLogprobs()).extracting(TopLogprob::tokenId).containsExactly(0, 2, 1);
        SampledToken all = new Sampler(params().temperature(0).logprobs(20).build()).sample(logits, 0, 5, null);
        assertThat(all.topLogprobs()).extracting(TopLogprob::tokenId).containsExactly(0, 2, 1, 3, 4);
        double[] ref = SamplingReference.logSoftmax(logits);
        for (TopLogprob lp : all.topLogprobs()) {
            assertThat((double) lp.logprob()).isCloseTo(ref[lp.tokenId()], within(1e-6));
        }
    }

    @Test
    void logprobsNotRequestedOrZero() {
        float[] logits = {0f, 1f};
        SampledToken none = new Sampler(params().temperature(0).build()).sample(logits, 0, 2, null);
        assertThat(none.logprob()).isNaN();
        assertThat(none.topLogprobs()).isEmpty();
        SampledToken zero = new Sampler(params().temperature(0).logprobs(0).build()).sample(logits, 0, 2, null);
        assertThat((double) zero.logprob()).isCloseTo(-Math.log1p(Math.exp(-1)), within(1e-6));
        assertThat(zero.topLogprobs()).isEmpty();
    }
}
