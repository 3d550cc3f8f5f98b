package io.conduit.core.model;

/**
 * Which pairs of a head's dimensions RoPE rotates together. GGUF Llama/Mistral files store Q/K rows
 * permuted for adjacent pairs (ggml "NORM"); Hugging Face checkpoints and GGUF Qwen2 use the half-split
 * pairing (i, i + d/2), ggml "NEOX" / {@code rotate_half}. Choosing the layout per model avoids permuting
 * weights on load.
 */
public enum RopeLayout {
    ADJACENT_PAIRS,
    HALF_SPLIT
}
