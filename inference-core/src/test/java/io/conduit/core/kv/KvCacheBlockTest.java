package io.conduit.core.kv;

import io.conduit.core.model.Architecture;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.model.RopeConfig;
import io.conduit.core.model.RopeLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The block-at-a-time attention reads ({@link KvCache#keyScores}, {@link KvCache#addValues}) give every position
 * exactly the bits of the one-position scalar recipe ({@link KvCache#dotKey}; for values, one fma chain per value in
 * position order), whichever
 * vector lane, scalar tail, block offset or head of the group it is computed in, and stay close to the exact sums.
 */
class KvCacheBlockTest {
    static ModelConfig config(int heads, int kvHeads, int headDim) {
        return new ModelConfig(Architecture.LLAMA, heads * headDim, 2, heads, kvHeads, headDim, 64, 100, 4096, 1e-5f,
                RopeConfig.plain(10000, headDim, RopeLayout.HALF_SPLIT), false, false, 0);
    }

    @ParameterizedTest(name = "block {0}, head {1}, {2}/{3} heads")
    @CsvSource({"16, 64, 9, 3", "16, 37, 4, 1", "20, 48, 8, 2", "4, 64, 4, 2", "32, 8, 2, 2", "16, 130, 4, 1"})
    void blockReadsEqualThePerPositionRecipeBitForBit(int blockSize, int hd, int heads, int kvHeads) {
        ModelConfig c = config(heads, kvHeads, hd);
        int group = heads / kvHeads;
        int blocks = 5;
        KvCache kv = new KvCache(c, blocks, blockSize);
        SplittableRandom rnd = new SplittableRandom(blockSize * 31L + hd);
        int kvDim = c.kvDim();
        float[][][] keys = new float[2][blocks * blockSize][];
        float[][][] values = new float[2][blocks * blockSize][];
        for (int layer = 0; layer < 2; layer++) {
            for (int slot = 0; slot < blocks * blockSize; slot++) {
                float[] k = keys[layer][slot] = new float[kvDim], v = values[layer][slot] = new float[kvDim];
                for (int i = 0; i < kvDim; i++) {
                    k[i] = (float) rnd.nextGaussian();
                    v[i] = (float) rnd.nextGaussian();
                }
                kv.store(layer, slot, k, 0, v, 0);
            }
        }
        float[] q = new float[3 + heads * hd];
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        int stride = blockSize + 40;
        // Repeated so the kernels run interpreted and compiled.
        for (int round = 0; round < 300; round++) {
            int layer = round % 2;
            int block = round % blocks;
            int kvHead = round % kvHeads;
            int o0 = round % 3 == 0 ? 0 : rnd.nextInt(blockSize);
            int o1 = o0 + 1 + rnd.nextInt(blockSize - o0);
            int qOff = 3 + kvHead * group * hd;
            float[] scores = new float[group * stride + 7];
            kv.keyScores(layer, block, o0, o1, kvHead * hd, q, qOff, group, hd, scores, 7, stride);
            for (int g = 0; g < group; g++) {
                for (int o = o0; o < o1; o++) {
                    int slot = block * blockSize + o;
                    float want = kv.dotKey(layer, slot, kvHead * hd, q, qOff + g * hd, hd);
                    assertThat(Float.floatToRawIntBits(scores[7 + g * stride + o - o0]))
                            .as("round %d, head %d, offset %d", round, g, o).isEqualTo(Float.floatToRawIntBits(want));
                    if (round < 20) {
                        double exact = 0, abs = 0;
                        for (int d = 0; d < hd; d++) {
                            double term = (double) keys[layer][slot][kvHead * hd + d] * q[qOff + g * hd + d];
                            exact += term;
                            abs += Math.abs(term);
                        }
                        assertThat(Math.abs(want - exact)).isLessThan(1e-6 * abs + 1e-30);
                    }
                }
            }

            float[] weights = new float[group * stride];
            for (int i = 0; i < weights.length; i++) weights[i] = (float) rnd.nextDouble();
            float[] out = new float[5 + group * hd];
            for (int i = 0; i < out.length; i++) out[i] = (float) rnd.nextGaussian();
            float[] want = out.clone();
            kv.addValues(layer, block, o0, o1, kvHead * hd, weights, 2, stride, group, out, 5, hd);
            // The definition: per output value, one fma chain in position order.
            for (int g = 0; g < group; g++) {
                for (int d = 0; d < hd; d++) {
                    float acc = want[5 + g * hd + d];
                    for (int o = o0; o < o1; o++) {
                        acc = Math.fma(values[layer][block * blockSize + o][kvHead * hd + d], weights[2 + g * stride + o - o0], acc);
                    }
                    want[5 + g * hd + d] = acc;
                }
            }
            for (int i = 0; i < out.length; i++) {
                assertThat(Float.floatToRawIntBits(out[i])).as("round %d, value %d", round, i).isEqualTo(Float.floatToRawIntBits(want[i]));
            }
        }
    }
}
