package io.conduit.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conduit.core.safetensors.SafetensorsFile;
import io.conduit.core.tokenizer.Tokenizer;
import io.conduit.core.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Loads a Hugging Face checkpoint directory: {@code config.json}, {@code model.safetensors} (or shards listed
 * in {@code model.safetensors.index.json}), {@code tokenizer.json} and the chat template from
 * {@code tokenizer_config.json}. HF checkpoints use the half-split RoPE layout.
 */
final class HfModelLoader {
    private static final ObjectMapper JSON = new ObjectMapper();

    static LoadedModel load(Path dir) {
        Path configPath = dir.resolve("config.json");
        JsonNode cfg = readJson(configPath);
        String source = dir.toString();
        Architecture arch = Architecture.fromHfModelType(cfg.path("model_type").asText(null), configPath.toString());
        int dim = positive(cfg, "hidden_size", configPath);
        int heads = positive(cfg, "num_attention_heads", configPath);
        int kvHeads = cfg.has("num_key_value_heads") ? positive(cfg, "num_key_value_heads", configPath) : heads;
        int headDim = cfg.hasNonNull("head_dim") ? positive(cfg, "head_dim", configPath) : dim / heads;
        int rotary = (int) Math.round(headDim * cfg.path("partial_rotary_factor").asDouble(1.0));
        ModelConfig config = new ModelConfig(arch, dim, positive(cfg, "num_hidden_layers", configPath), heads, kvHeads,
                headDim, positive(cfg, "intermediate_size", configPath), positive(cfg, "vocab_size", configPath),
                cfg.path("max_position_embeddings").asInt(2048),
                (float) cfg.path("rms_norm_eps").asDouble(1e-6),
                rope(cfg, rotary, configPath),
                cfg.path("attention_bias").asBoolean(arch.qkvBiasByDefault()),
                cfg.path("tie_word_embeddings").asBoolean(false),
                slidingWindow(cfg, arch))
                .validate(source);

        List<SafetensorsFile> shards = openShards(dir);
        try {
            Map<String, TensorRef> all = new HashMap<>();
            for (SafetensorsFile f : shards) all.putAll(f.tensors());
            TensorLookup lookup = new TensorLookup() {
                @Override
                public TensorRef find(String name) { return all.get(name); }

                @Override
                public String source() { return source; }
            };
            ModelWeights weights = new WeightsBinder(lookup, TensorNaming.HUGGING_FACE, config).bind();
            Path tokenizerJson = dir.resolve("tokenizer.json");
            if (!Files.isRegularFile(tokenizerJson)) {
                throw new ModelFormatException(source + ": tokenizer.json is missing");
            }
            Tokenizer tokenizer = Tokenizers.fromTokenizerJson(tokenizerJson);
            return new LoadedModel(dir.getFileName().toString(), config, weights, tokenizer, chatTemplate(dir),
                    List.copyOf(shards));
        } catch (RuntimeException e) {
            shards.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static RopeConfig rope(JsonNode cfg, int rotary, Path file) {
        double theta = cfg.path("rope_theta").asDouble(10000.0);
        JsonNode s = cfg.path("rope_scaling");
        if (s.isMissingNode() || s.isNull()) return RopeConfig.plain(theta, rotary, RopeLayout.HALF_SPLIT);
        String type = s.hasNonNull("rope_type") ? s.get("rope_type").asText() : s.path("type").asText("default");
        return switch (type) {
            case "default" -> RopeConfig.plain(theta, rotary, RopeLayout.HALF_SPLIT);
            case "linear" -> new RopeConfig(theta, rotary, RopeLayout.HALF_SPLIT, "linear",
                    s.path("factor").asDouble(1), 1, 1, 0, null);
            case "llama3" -> new RopeConfig(theta, rotary, RopeLayout.HALF_SPLIT, "llama3",
                    s.path("factor").asDouble(8), s.path("low_freq_factor").asDouble(1),
                    s.path("high_freq_factor").asDouble(4), s.path("original_max_position_embeddings").asInt(8192), null);
            default -> throw new ModelFormatException(file + ": rope_scaling type '" + type
                    + "' is not supported (supported: linear, llama3)");
        };
    }

    private static int slidingWindow(JsonNode cfg, Architecture arch) {
        if (arch == Architecture.QWEN2 && !cfg.path("use_sliding_window").asBoolean(false)) return 0;
        return cfg.hasNonNull("sliding_window") ? cfg.get("sliding_window").asInt(0) : 0;
    }

    private static List<SafetensorsFile> openShards(Path dir) {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        Set<String> files = new LinkedHashSet<>();
        if (Files.isRegularFile(single)) {
            files.add("model.safetensors");
        } else if (Files.isRegularFile(index)) {
            for (Iterator<JsonNode> it = readJson(index).path("weight_map").elements(); it.hasNext(); ) {
                files.add(it.next().asText());
            }
        } else {
            throw new ModelFormatException(dir + ": no model.safetensors or model.safetensors.index.json");
        }
        List<SafetensorsFile> out = new ArrayList<>();
        try {
            for (String f : files) out.add(SafetensorsFile.open(dir.resolve(f)));
        } catch (RuntimeException e) {
            out.forEach(SafetensorsFile::close);
            throw e;
        }
        return out;
    }

    private static String chatTemplate(Path dir) {
        try {
            Path jinja = dir.resolve("chat_template.jinja");
            if (Files.isRegularFile(jinja)) return Files.readString(jinja);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + dir.resolve("chat_template.jinja") + ": " + e.getMessage());
        }
        Path tc = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(tc)) return null;
        JsonNode t = readJson(tc).path("chat_template");
        if (t.isTextual()) return t.asText();
        if (t.isArray()) { // a list of named templates: use "default"
            for (JsonNode n : t) if ("default".equals(n.path("name").asText())) return n.path("template").asText();
        }
        return null;
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) throw new ModelFormatException(file + " is missing");
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file + ": invalid JSON: " + e.getMessage());
        }
    }

    private static int positive(JsonNode cfg, String key, Path file) {
        JsonNode n = cfg.get(key);
        if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new ModelFormatException(file + ": " + key + (n == null ? " is missing" : " is invalid: " + n));
        }
        return n.asInt();
    }
}
