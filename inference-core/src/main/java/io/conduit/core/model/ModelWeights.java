package io.conduit.core.model;

import io.conduit.core.tensor.WeightMatrix;

/** All weights of a Llama-family model. With tied embeddings {@code output} is the embedding matrix itself. */
public record ModelWeights(WeightMatrix tokenEmbedding, LayerWeights[] layers, float[] outputNorm, WeightMatrix output) {
}
