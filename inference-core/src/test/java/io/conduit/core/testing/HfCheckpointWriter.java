package io.conduit.core.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a small random-weight Hugging Face checkpoint (config.json, model.safetensors, the TinyStories
 * tokenizer) so the HF loader is tested on architectures and dtypes the shared models lack.
 */
public final class HfCheckpointWriter {
    private final Map<String, float[]> tensors = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final SplittableRandom rnd;

    public HfCheckpointWriter(long seed) {
        this.rnd = new SplittableRandom(seed);
    }

    public void random(String name, double scale, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        tensors.put(name, v);
        shapes.put(name, shape);
    }

    public void ones(String name, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 1f + (float) (rnd.nextGaussian() * 0.05);
        tensors.put(name, v);
        shapes.put(name, new long[]{n});
    }

    /** A Llama-family checkpoint; {@code config} holds the architecture-specific keys. */
    public static Path writeModel(Path dir, ObjectNode config, String dtype, long seed) {
        int dim = config.get("hidden_size").asInt();
        int heads = config.get("num_attention_heads").asInt();
        int kvHeads = config.get("num_key_value_heads").asInt();
        int ffn = config.get("intermediate_size").asInt();
        int vocab = config.get("vocab_size").asInt();
        int hd = dim / heads;
        boolean bias = config.path("attention_bias").asBoolean("qwen2".equals(config.get("model_type").asText()));
        HfCheckpointWriter w = new HfCheckpointWriter(seed);
        w.random("model.embed_tokens.weight", 1.0, vocab, dim);
        if (!config.path("tie_word_embeddings").asBoolean(false)) w.random("lm_head.weight", 1.0 / Math.sqrt(dim), vocab, dim);
        w.ones("model.norm.weight", dim);
        for (int l = 0; l < config.get("num_hidden_layers").asInt(); l++) {
            String p = "model.layers." + l + ".";
            double s = 1.0 / Math.sqrt(dim);
            w.ones(p + "input_layernorm.weight", dim);
            w.ones(p + "post_attention_layernorm.weight", dim);
            w.random(p + "self_attn.q_proj.weight", s, (long) heads * hd, dim);
            w.random(p + "self_attn.k_proj.weight", s, (long) kvHeads * hd, dim);
            w.random(p + "self_attn.v_proj.weight", s, (long) kvHeads * hd, dim);
            w.random(p + "self_attn.o_proj.weight", s, dim, (long) heads * hd);
            if (bias) {
                w.random(p + "self_attn.q_proj.bias", 0.1, (long) heads * hd);
                w.random(p + "self_attn.k_proj.bias", 0.1, (long) kvHeads * hd);
                w.random(p + "self_attn.v_proj.bias", 0.1, (long) kvHeads * hd);
            }
            w.random(p + "mlp.gate_proj.weight", s, ffn, dim);
            w.random(p + "mlp.up_proj.weight", s, ffn, dim);
            w.random(p + "mlp.down_proj.weight", 1.0 / Math.sqrt(ffn), dim, ffn);
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), config.toPrettyString());
            Files.copy(TestModels.tinyStoriesHf().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
            Files.copy(TestModels.tinyStoriesHf().resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
            w.writeSafetensors(dir.resolve("model.safetensors"), dtype);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** Writes every tensor in {@code dtype} (F32, F16 or BF16). */
    public void writeSafetensors(Path file, String dtype) throws IOException {
        int elementSize = dtype.equals("F32") ? 4 : 2;
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        long offset = 0;
        for (var e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype);
            var shape = t.putArray("shape");
            for (long d : shapes.get(e.getKey())) shape.add(d);
            long bytes = (long) e.getValue().length * elementSize;
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate((int) (8 + h.length + offset)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        for (float[] v : tensors.values()) {
            for (float f : v) {
                switch (dtype) {
                    case "F32" -> buf.putFloat(f);
                    case "F16" -> buf.putShort(Float.floatToFloat16(f));
                    case "BF16" -> buf.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
                    default -> throw new IllegalArgumentException(dtype);
                }
            }
        }
        Files.write(file, buf.array());
    }
}
