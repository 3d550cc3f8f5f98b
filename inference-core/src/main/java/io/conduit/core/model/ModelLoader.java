package io.conduit.core.model;

import io.conduit.core.quant.Quantizer;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.WeightMatrix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a model from a GGUF file or a Hugging Face checkpoint directory (or its config.json / .safetensors). */
public final class ModelLoader {
    private ModelLoader() {
    }

    /**
     * How to load a model.
     *
     * @param quantize convert F32/F16/BF16 weight matrices to this type (Q8_0 or Q4_0) in memory while loading,
     *                 or null to use them as stored
     */
    public record LoadOptions(GgmlType quantize) {
        public static final LoadOptions DEFAULT = new LoadOptions(null);

        public LoadOptions {
            if (quantize != null && quantize != GgmlType.Q8_0 && quantize != GgmlType.Q4_0) {
                throw new IllegalArgumentException("--quantize supports q8_0 and q4_0, not " + quantize);
            }
        }
    }

    /** Loads {@code path}, then applies {@code options} (quantization on load keeps the original mapped too). */
    public static LoadedModel load(Path path, LoadOptions options) {
        LoadedModel m = load(path);
        if (options == null || options.quantize() == null) return m;
        GgmlType target = options.quantize();
        Arena arena = Arena.ofShared();
        try {
            ModelWeights w = m.weights();
            LayerWeights[] layers = new LayerWeights[w.layers().length];
            for (int i = 0; i < layers.length; i++) {
                LayerWeights l = w.layers()[i];
                layers[i] = new LayerWeights(l.attnNorm(), q(l.wq(), target, arena), q(l.wk(), target, arena),
                        q(l.wv(), target, arena), q(l.wo(), target, arena), l.bq(), l.bk(), l.bv(), l.ffnNorm(),
                        q(l.gate(), target, arena), q(l.up(), target, arena), q(l.down(), target, arena));
            }
            WeightMatrix embedding = q(w.tokenEmbedding(), target, arena);
            WeightMatrix output = w.output() == w.tokenEmbedding() ? embedding : q(w.output(), target, arena);
            List<AutoCloseable> resources = new ArrayList<>(m.resources());
            resources.add(arena);
            return new LoadedModel(m.name(), m.config(), new ModelWeights(embedding, layers, w.outputNorm(), output),
                    m.tokenizer(), m.chatTemplate(), resources);
        } catch (RuntimeException e) {
            arena.close();
            m.close();
            throw e;
        }
    }

    private static WeightMatrix q(WeightMatrix w, GgmlType target, Arena arena) {
        return Quantizer.quantize(w, target, arena);
    }

    public static LoadedModel load(Path path) {
        if (!Files.exists(path)) throw new ModelFormatException("model not found: " + path);
        if (Files.isDirectory(path)) {
            return HfModelLoader.load(path);
        }
        String name = path.getFileName().toString();
        if (name.endsWith(".safetensors") || name.equals("config.json")) {
            return HfModelLoader.load(path.toAbsolutePath().getParent());
        }
        if (startsWithGgufMagic(path)) {
            return GgufModelLoader.load(path);
        }
        throw new ModelFormatException(path + ": not a model (expected a GGUF file or a Hugging Face directory)");
    }

    private static boolean startsWithGgufMagic(Path path) {
        try (InputStream in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }
}
