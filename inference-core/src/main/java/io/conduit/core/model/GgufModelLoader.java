package io.conduit.core.model;

import io.conduit.core.gguf.GgufFile;
import io.conduit.core.gguf.GgufTensorInfo;
import io.conduit.core.tokenizer.Tokenizer;
import io.conduit.core.tokenizer.Tokenizers;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Loads a Llama-family model from one GGUF file. */
final class GgufModelLoader {

    static LoadedModel load(Path path) {
        GgufFile file = GgufFile.open(path);
        try {
            String source = path.toString();
            Map<String, Object> md = file.metadata();
            Architecture arch = Architecture.fromGguf(string(md, "general.architecture", source), source);
            String prefix = (String) md.get("general.architecture") + ".";
            TensorLookup lookup = lookup(file);

            int dim = intKey(md, prefix + "embedding_length", source);
            int heads = intKey(md, prefix + "attention.head_count", source);
            int kvHeads = md.containsKey(prefix + "attention.head_count_kv")
                    ? intKey(md, prefix + "attention.head_count_kv", source) : heads;
            int headDim = md.containsKey(prefix + "attention.key_length")
                    ? intKey(md, prefix + "attention.key_length", source) : dim / heads;
            GgufTensorInfo embd = file.tensor("token_embd.weight");
            int vocab = md.get("tokenizer.ggml.tokens") instanceof List<?> tokens ? tokens.size()
                    : md.containsKey(prefix + "vocab_size") ? intKey(md, prefix + "vocab_size", source)
                    : embd != null ? (int) embd.dims()[1] : -1;
            RopeLayout layout = arch == Architecture.QWEN2 ? RopeLayout.HALF_SPLIT : RopeLayout.ADJACENT_PAIRS;
            int ropeDims = md.containsKey(prefix + "rope.dimension_count")
                    ? intKey(md, prefix + "rope.dimension_count", source) : headDim;
            RopeConfig rope = ropeConfig(md, prefix, ropeDims, layout, source);

            ModelConfig config = new ModelConfig(arch, dim,
                    intKey(md, prefix + "block_count", source), heads, kvHeads, headDim,
                    intKey(md, prefix + "feed_forward_length", source), vocab,
                    intKey(md, prefix + "context_length", source),
                    floatKey(md, prefix + "attention.layer_norm_rms_epsilon", 1e-5f),
                    rope, file.tensor("blk.0.attn_q.bias") != null,
                    file.tensor("output.weight") == null,
                    md.containsKey(prefix + "attention.sliding_window")
                            ? intKey(md, prefix + "attention.sliding_window", source) : 0)
                    .validate(source);
            WeightsBinder binder = new WeightsBinder(lookup, TensorNaming.GGUF, config);
            float[] freqFactors = binder.optionalVector("rope_freqs.weight", ropeDims / 2);
            if (freqFactors != null) {
                config = new ModelConfig(arch, config.dim(), config.layers(), heads, kvHeads, headDim, config.ffnDim(),
                        vocab, config.contextLength(), config.rmsEps(), rope.withFreqFactors(freqFactors),
                        config.qkvBias(), config.tiedEmbeddings(), config.slidingWindow());
            }
            ModelWeights weights = binder.bind();
            Tokenizer tokenizer = Tokenizers.fromGgufMetadata(md);
            String name = md.get("general.name") instanceof String n ? n : path.getFileName().toString();
            return new LoadedModel(name, config, weights, tokenizer,
                    (String) md.get("tokenizer.chat_template"), List.of(file));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static RopeConfig ropeConfig(Map<String, Object> md, String prefix, int dims, RopeLayout layout,
                                         String source) {
        double theta = floatKey(md, prefix + "rope.freq_base", 10000f);
        String type = md.get(prefix + "rope.scaling.type") instanceof String s ? s : "none";
        return switch (type) {
            case "none" -> RopeConfig.plain(theta, dims, layout);
            case "linear" -> new RopeConfig(theta, dims, layout, "linear",
                    floatKey(md, prefix + "rope.scaling.factor", 1f), 1, 1, 0, null);
            default -> throw new ModelFormatException(source + ": RoPE scaling '" + type
                    + "' is not supported (supported: none, linear, and Llama 3 frequency factors)");
        };
    }

    private static TensorLookup lookup(GgufFile file) {
        return new TensorLookup() {
            @Override
            public TensorRef find(String name) {
                GgufTensorInfo t = file.tensor(name);
                return t == null ? null : new TensorRef(name, file.segment(), t.dataOffset(), t.type(), t.typeName(), t.dims());
            }

            @Override
            public String source() {
                return file.path().toString();
            }
        };
    }

    private static String string(Map<String, Object> md, String key, String source) {
        if (md.get(key) instanceof String s) return s;
        throw new ModelFormatException(source + ": metadata " + key + " is missing");
    }

    private static int intKey(Map<String, Object> md, String key, String source) {
        Object v = md.get(key);
        if (v instanceof Long l && l > 0 && l <= Integer.MAX_VALUE) return (int) (long) l;
        if (v == null) throw new ModelFormatException(source + ": metadata " + key + " is missing");
        throw new ModelFormatException(source + ": metadata " + key + " has invalid value " + v);
    }

    private static float floatKey(Map<String, Object> md, String key, float fallback) {
        Object v = md.get(key);
        if (v instanceof Float f) return f;
        if (v instanceof Double d) return (float) (double) d;
        return fallback;
    }
}
