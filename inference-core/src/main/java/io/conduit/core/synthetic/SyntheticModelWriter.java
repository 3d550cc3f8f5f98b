package io.conduit.core.synthetic;

import io.conduit.core.gguf.GgufWriter;
import io.conduit.core.kernels.Parallel;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.TensorCodec;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a random-weight GGUF model of a given shape, loadable by Conduit and by llama.cpp: Llama (or Qwen2,
 * with QKV biases) metadata, a SentencePiece-style vocabulary with byte fallback, tied embeddings, and the
 * matrices in one tensor type or in a per-tensor mix ({@link QuantMix}). Weights are deterministic in the seed, so
 * two runs write the same file, and a matrix holds the same values (before quantization) whatever its type.
 */
public final class SyntheticModelWriter {
    private final ModelShape shape;
    private final QuantMix mix;
    private final long seed;

    public SyntheticModelWriter(ModelShape shape, GgmlType matrixType, long seed) {
        this(shape, QuantMix.uniform(matrixType), seed);
    }

    /**
     * @throws IllegalArgumentException when a row length of the shape is not a whole number of blocks of the types
     * (K-quants need multiples of 256), checked here so that nothing is written
     */
    public SyntheticModelWriter(ModelShape shape, QuantMix mix, long seed) {
        this.shape = shape;
        this.mix = mix;
        this.seed = seed;
        int multiple = mix.rowMultiple();
        int qDim = shape.heads() * shape.headDim();
        for (int width : new int[]{shape.dim(), qDim, shape.ffnDim()}) {
            if (width % multiple != 0) {
                throw new IllegalArgumentException(mix.name() + " needs row lengths that are multiples of " + multiple
                        + ", but shape " + shape.name() + " has rows of " + width + " (dim " + shape.dim() + ", ffn "
                        + shape.ffnDim() + ")" + (multiple == 256 ? "; l1b's widths are multiples of 256" : ""));
            }
        }
    }

    public void write(Path path) {
        ModelShape s = shape;
        String arch = s.architecture();
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", arch);
        w.putString("general.name", "synthetic-" + s.name() + "-" + mix.name());
        w.putUInt32("general.file_type", mix.fileType());
        w.putUInt32(arch + ".context_length", s.contextLength());
        w.putUInt32(arch + ".embedding_length", s.dim());
        w.putUInt32(arch + ".block_count", s.layers());
        w.putUInt32(arch + ".feed_forward_length", s.ffnDim());
        w.putUInt32(arch + ".attention.head_count", s.heads());
        w.putUInt32(arch + ".attention.head_count_kv", s.kvHeads());
        w.putUInt32(arch + ".rope.dimension_count", s.headDim());
        w.putFloat32(arch + ".rope.freq_base", 10000f);
        w.putFloat32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
        w.putUInt32("general.quantization_version", 2);
        addVocabulary(w, s.vocabSize());

        int dim = s.dim();
        int kvDim = s.kvHeads() * s.headDim();
        int qDim = s.heads() * s.headDim();
        long salt = 0;
        int n = s.layers();
        GgmlType embd = mix.typeOf(QuantMix.Role.TOKEN_EMBD, 0, n);
        w.addTensor("token_embd.weight", embd, new long[]{dim, s.vocabSize()}, matrix(embd, s.vocabSize(), dim, 1.0, salt++));
        w.addF32Tensor("output_norm.weight", new long[]{dim}, norm(dim, salt++));
        boolean qwen = arch.equals("qwen2");
        for (int l = 0; l < n; l++) {
            String p = "blk." + l + ".";
            double inScale = 1.0 / Math.sqrt(dim);
            GgmlType tq = mix.typeOf(QuantMix.Role.ATTN_Q, l, n), tk = mix.typeOf(QuantMix.Role.ATTN_K, l, n);
            GgmlType tv = mix.typeOf(QuantMix.Role.ATTN_V, l, n), to = mix.typeOf(QuantMix.Role.ATTN_OUTPUT, l, n);
            GgmlType tg = mix.typeOf(QuantMix.Role.FFN_GATE, l, n), tu = mix.typeOf(QuantMix.Role.FFN_UP, l, n);
            GgmlType td = mix.typeOf(QuantMix.Role.FFN_DOWN, l, n);
            w.addF32Tensor(p + "attn_norm.weight", new long[]{dim}, norm(dim, salt++));
            w.addTensor(p + "attn_q.weight", tq, new long[]{dim, qDim}, matrix(tq, qDim, dim, inScale, salt++));
            w.addTensor(p + "attn_k.weight", tk, new long[]{dim, kvDim}, matrix(tk, kvDim, dim, inScale, salt++));
            w.addTensor(p + "attn_v.weight", tv, new long[]{dim, kvDim}, matrix(tv, kvDim, dim, inScale, salt++));
            if (qwen) {
                w.addF32Tensor(p + "attn_q.bias", new long[]{qDim}, noise(qDim, 0.1, salt++));
                w.addF32Tensor(p + "attn_k.bias", new long[]{kvDim}, noise(kvDim, 0.1, salt++));
                w.addF32Tensor(p + "attn_v.bias", new long[]{kvDim}, noise(kvDim, 0.1, salt++));
            }
            w.addTensor(p + "attn_output.weight", to, new long[]{qDim, dim}, matrix(to, dim, qDim, 1.0 / Math.sqrt(qDim), salt++));
            w.addF32Tensor(p + "ffn_norm.weight", new long[]{dim}, norm(dim, salt++));
            w.addTensor(p + "ffn_gate.weight", tg, new long[]{dim, s.ffnDim()}, matrix(tg, s.ffnDim(), dim, inScale, salt++));
            w.addTensor(p + "ffn_up.weight", tu, new long[]{dim, s.ffnDim()}, matrix(tu, s.ffnDim(), dim, inScale, salt++));
            w.addTensor(p + "ffn_down.weight", td, new long[]{s.ffnDim(), dim}, matrix(td, dim, s.ffnDim(), 1.0 / Math.sqrt(s.ffnDim()), salt++));
        }
        w.write(path);
    }

    private GgufWriter.TensorFiller matrix(GgmlType type, int rows, int cols, double scale, long salt) {
        return dst -> randomMatrix(dst, type, rows, cols, scale, seed * 1_000_003L + salt * 65_537L);
    }

    /**
     * Writes a rows x cols matrix of {@code type} to {@code dst}: Gaussian values of standard deviation
     * {@code scale} quantized by the project's codec, row by row in parallel; row {@code r} comes from seed
     * {@code seed + r}, so the bytes do not depend on how the rows were split.
     */
    public static void randomMatrix(MemorySegment dst, GgmlType type, int rows, int cols, double scale, long seed) {
        TensorCodec codec = TensorCodec.of(type);
        long rowBytes = type.byteSize(cols);
        Parallel.forRange(rows, 64, (from, to) -> {
            float[] row = new float[cols];
            for (int r = from; r < to; r++) {
                SplittableRandom rnd = new SplittableRandom(seed + r);
                for (int c = 0; c < cols; c++) row[c] = (float) (rnd.nextGaussian() * scale);
                codec.quantize(row, 0, cols, dst, r * rowBytes);
            }
        });
    }

    private float[] norm(int n, long salt) {
        float[] v = noise(n, 0.05, salt);
        for (int i = 0; i < n; i++) v[i] += 1f;
        return v;
    }

    private float[] noise(int n, double scale, long salt) {
        SplittableRandom rnd = new SplittableRandom(seed * 7_919L + salt);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        return v;
    }

    /** A SentencePiece-style vocabulary: unk, BOS, EOS, the 256 byte tokens, then distinct word pieces. */
    private static void addVocabulary(GgufWriter w, int vocabSize) {
        if (vocabSize < 259) throw new IllegalArgumentException("synthetic vocabularies need at least 259 tokens");
        List<String> tokens = new ArrayList<>(vocabSize);
        float[] scores = new float[vocabSize];
        int[] types = new int[vocabSize];
        tokens.add("<unk>");
        types[0] = 2;
        tokens.add("<s>");
        types[1] = 3;
        tokens.add("</s>");
        types[2] = 3;
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types[3 + b] = 6;
        }
        for (int i = tokens.size(); i < vocabSize; i++) {
            tokens.add("\u2581w" + i);
            types[i] = 1;
            scores[i] = -i;
        }
        w.putString("tokenizer.ggml.model", "llama");
        w.putStringArray("tokenizer.ggml.tokens", tokens);
        w.putFloat32Array("tokenizer.ggml.scores", scores);
        w.putInt32Array("tokenizer.ggml.token_type", types);
        w.putUInt32("tokenizer.ggml.bos_token_id", 1);
        w.putUInt32("tokenizer.ggml.eos_token_id", 2);
        w.putUInt32("tokenizer.ggml.unknown_token_id", 0);
    }
}
