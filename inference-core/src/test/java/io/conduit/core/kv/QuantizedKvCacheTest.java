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

    @Test
    void quantizedBudgetHoldsMoreBlocks() {
        ModelConfig c = config(64);
        int f32 = KvCache.blocksForBudget(c, 64L << 20, 16, false);
        int q8 = KvCache.blocksForBudget(c, 64L << 20, 16, true);
        assertThat((double) q8 / f32).isBetween(3.4, 3.6); // 4 bytes vs 1 + 4/32 per value
    }
}
