package io.conduit.core.synthetic;

import java.util.Locale;

/**
 * The dimensions of a Llama-family model, for writing random-weight models of real shapes. Benchmarks
 * use the named presets; tests use small shapes.
 */
public record ModelShape(String name, String architecture, int dim, int layers, int heads, int kvHeads, int ffnDim,
                         int vocabSize, int contextLength) {

    /** SmolLM2-135M's shape. */
    public static final ModelShape SMOL_135M = new ModelShape("smol135m", "llama", 576, 30, 9, 3, 1536, 49152, 8192);
    /** Llama-3.2-1B's shape. */
    public static final ModelShape L1B = new ModelShape("l1b", "llama", 2048, 16, 32, 8, 8192, 128256, 8192);

    public static ModelShape named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "smol135m" -> SMOL_135M;
            case "l1b" -> L1B;
            default -> throw new IllegalArgumentException("unknown shape '" + name + "' (known: smol135m, l1b)");
        };
    }

    public int headDim() { return dim / heads; }

    /** Parameters in the weight matrices (embeddings counted once: they are tied). */
    public long matrixParameters() {
        long perLayer = (long) dim * heads * headDim() * 2 + (long) dim * kvHeads * headDim() * 2 + 3L * dim * ffnDim;
        return perLayer * layers + (long) vocabSize * dim;
    }
}
