package io.conduit.core.model;

/**
 * The shape and hyper-parameters of a Llama-family model, whatever file it came from.
 *
 * @param slidingWindow attention window in tokens (Mistral), or 0 for full attention
 */
public record ModelConfig(Architecture architecture, int dim, int layers, int heads, int kvHeads, int headDim,
                          int ffnDim, int vocabSize, int contextLength, float rmsEps, RopeConfig rope,
                          boolean qkvBias, boolean tiedEmbeddings, int slidingWindow) {

    public int kvDim() { return kvHeads * headDim; }

    public int qDim() { return heads * headDim; }

    /** Query heads that share one key/value head (grouped-query attention). */
    public int groupSize() { return heads / kvHeads; }

    /** Checks the numbers fit together; {@code source} names the file in the message. */
    public ModelConfig validate(String source) {
        require(dim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && headDim > 0 && ffnDim > 0 && vocabSize > 0,
                source, "dimensions must be positive: " + this);
        require(heads % kvHeads == 0, source, "head count " + heads + " is not a multiple of KV head count " + kvHeads);
        require(rope.rotaryDims() > 0 && rope.rotaryDims() <= headDim && rope.rotaryDims() % 2 == 0, source,
                "RoPE dimension count " + rope.rotaryDims() + " does not fit head size " + headDim);
        require(contextLength > 0, source, "context length must be positive");
        require(rmsEps > 0 && Float.isFinite(rmsEps), source, "RMSNorm epsilon must be positive");
        return this;
    }

    private static void require(boolean ok, String source, String message) {
        if (!ok) throw new ModelFormatException(source + ": " + message);
    }
}
