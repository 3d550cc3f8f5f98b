package io.conduit.core.kv;

import io.conduit.core.model.Architecture;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.model.RopeConfig;
import io.conduit.core.model.RopeLayout;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The int8 KV store against the float32 one on random vectors: close, and each slot independent. */
class QuantizedKvCacheTest {
    static ModelConfig config(int headDim) {
        return new ModelConfig(Architecture.LLAMA, 4 * headDim, 2, 4, 2, headDim, 64, 100, 256, 1e-5f,
                RopeConfig.plain(10000, headDim, RopeLayout.HALF_SPLIT), false, false, 0);
    }

    @Test
    void int8KeysAndValuesStayWithinQuantizationError() {
        for (int hd : new int[]{8, 64}) { // a whole head per group, and 32-value groups
            ModelConfig c = config(hd);
            KvCache exact = new KvCache(c, 4, 16, false);
            KvCache q8 = new KvCache(c, 4, 16, true);
            SplittableRandom rnd = new SplittableRandom(hd);
            int kvDim = c.kvDim();
            for (int slot = 0; slot < 64; slot++) {
                float[] k = new float[kvDim], v = new float[kvDim];
                for (int i = 0; i < kvDim; i++) {
                    k[i] = (float) rnd.nextGaussian() * (slot + 1);
                    v[i] = (float) rnd.nextGaussian();
                }
                for (int layer = 0; layer < 2; layer++) {
                    exact.store(layer, slot, k, 0, v, 0);
                    q8.store(layer, slot, k, 0, v, 0);
                }
            }
            float[] x = new float[hd];
            for (int i = 0; i < hd; i++) x[i] = (float) rnd.nextGaussian();
            for (int slot = 0; slot < 64; slot++) {
                for (int head = 0; head < 2; head++) {
                    float want = exact.dotKey(1, slot, head * hd, x, 0, hd);
                    float got = q8.dotKey(1, slot, head * hd, x, 0, hd);
                    double norm = 0;
                    for (float xi : x) norm += Math.abs(xi);
                    // Each key value is off by at most scale/2 = max|k|/254 of its group.
                    assertThat((double) Math.abs(got - want)).isLessThanOrEqualTo(norm * (slot + 1) * 5.0 / 254 + 1e-5);
                    float[] a = new float[hd], b = new float[hd];
                    exact.addValue(0, slot, head * hd, 0.5f, a, 0, hd);
                    q8.addValue(0, slot, head * hd, 0.5f, b, 0, hd);
                    for (int i = 0; i < hd; i++) assertThat((double) Math.abs(a[i] - b[i])).isLessThan(0.5 * 5.0 / 254 + 1e-6);
                }
            }
        }
    }

    /**
     * The vector kernels against the one-position recipe ({@link KvCache#dotKey}, {@link KvCache#addValue}): every
     * score and every output value bit for bit, for whole and partial blocks, a block size that leaves a scalar tail
     * after the vectors (20), heads of 8 (one scale per head, narrower than a vector), 64 (two groups of 32) and
     * 80 (one group of 80), and one to three query heads per call (pairs and a single).
     */
    @Test
    void vectorKernelsFollowTheOnePositionRecipe() {
        for (int hd : new int[]{8, 64, 80}) {
            for (int blockSize : new int[]{16, 20}) {
                ModelConfig c = config(hd);
                KvCache q8 = new KvCache(c, 3, blockSize, true);
                SplittableRandom rnd = new SplittableRandom(31L * hd + blockSize);
                int kvDim = c.kvDim();
                for (int slot = 0; slot < 3 * blockSize; slot++) {
                    float[] k = gaussian(rnd, kvDim, 2), v = gaussian(rnd, kvDim, 1);
                    q8.store(1, slot, k, 0, v, 0);
                }
                int heads = 3;
                float[] q = gaussian(rnd, heads * hd, 1);
                int stride = blockSize + 16;
                for (int block = 0; block < 3; block++) {
                    for (int[] range : new int[][]{{0, blockSize}, {3, blockSize - 2}, {blockSize - 1, blockSize}}) {
                        int o0 = range[0], o1 = range[1];
                        for (int h = 1; h <= heads; h++) {
                            for (int kvHead = 0; kvHead < 2; kvHead++) {
                                int headOff = kvHead * hd;
                                float[] scores = new float[h * stride];
                                q8.keyScores(1, block, o0, o1, headOff, q, 0, h, hd, scores, 0, stride);
                                float[] weights = gaussian(rnd, h * stride, 1);
                                float[] out = gaussian(rnd, h * hd, 1), want = out.clone();
                                q8.addValues(1, block, o0, o1, headOff, weights, 0, stride, h, out, 0, hd);
                                for (int g = 0; g < h; g++) {
                                    for (int o = o0; o < o1; o++) {
                                        int slot = block * blockSize + o;
                                        float one = q8.dotKey(1, slot, headOff, q, g * hd, hd);
                                        assertThat(Float.floatToIntBits(scores[g * stride + o - o0]))
                                                .as("hd %d block size %d score of head %d at %d", hd, blockSize, g, o)
                                                .isEqualTo(Float.floatToIntBits(one));
                                        q8.addValue(1, slot, headOff, weights[g * stride + o - o0], want, g * hd, hd);
                                    }
                                }
                                for (int i = 0; i < h * hd; i++) {
                                    assertThat(Float.floatToIntBits(out[i]))
                                            .as("hd %d block size %d value %d over [%d, %d)", hd, blockSize, i, o0, o1)
                                            .isEqualTo(Float.floatToIntBits(want[i]));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Scores and weighted values of the int8 cache against a float64 sum over the same int8 values and scales, read
     * back through single-slot unit weights: only float32 rounding apart. Catches a kernel that scales the wrong group
     * or position, which the bit-for-bit comparison above would share with the one-position recipe if both were wrong.
     */
    @Test
    void scoresAreTheDequantizedDotProduct() {
        for (int hd : new int[]{8, 64, 80}) {
            ModelConfig c = config(hd);
            KvCache q8 = new KvCache(c, 2, 16, true);
            SplittableRandom rnd = new SplittableRandom(hd);
            int kvDim = c.kvDim();
            for (int slot = 0; slot < 32; slot++) q8.store(0, slot, gaussian(rnd, kvDim, 3), 0, gaussian(rnd, kvDim, 1), 0);
            float[] q = gaussian(rnd, hd, 1);
            for (int slot = 0; slot < 32; slot++) {
                for (int head = 0; head < 2; head++) {
                    // The stored key, dimension by dimension: dot with unit vectors.
                    double want = 0;
                    for (int d = 0; d < hd; d++) {
                        float[] unit = new float[hd];
                        unit[d] = 1;
                        want += (double) q8.dotKey(0, slot, head * hd, unit, 0, hd) * q[d];
                    }
                    float[] scores = new float[32];
                    q8.keyScores(0, slot / 16, 0, 16, head * hd, q, 0, 1, hd, scores, 0, 32);
                    assertThat((double) scores[slot % 16]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4 * (1 + Math.abs(want))));
                }
            }
        }
    }

    private static float[] gaussian(SplittableRandom rnd, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * scale);
        return x;
    }

    @Test
    void quantizedBudgetHoldsMoreBlocks() {
        ModelConfig c = config(64);
        int f32 = KvCache.blocksForBudget(c, 64L << 20, 16, false);
        int q8 = KvCache.blocksForBudget(c, 64L << 20, 16, true);
        assertThat((double) q8 / f32).isBetween(3.4, 3.6); // 4 bytes vs 1 + 4/32 per value
    }
}
