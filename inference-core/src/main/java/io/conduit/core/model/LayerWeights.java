package io.conduit.core.model;

import io.conduit.core.tensor.WeightMatrix;

/** One transformer block's weights. Biases are null unless the architecture has them (Qwen2's QKV). */
public record LayerWeights(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                           float[] bq, float[] bk, float[] bv,
                           float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
}
