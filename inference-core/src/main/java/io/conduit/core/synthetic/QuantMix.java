package io.conduit.core.synthetic;

import io.conduit.core.tensor.GgmlType;

import java.util.Locale;

/**
 * Which tensor type each weight matrix of a synthetic model is stored in: one type for every matrix
 * ({@link #uniform}, named after the type: {@code q8_0}, {@code q4_k}, ...) or llama.cpp's Q4_K_M mix
 * ({@link #Q4_K_M}, {@code q4_k_m}), the most common type of downloaded GGUF files.
 *
 * <p>Q4_K_M follows {@code llama_tensor_get_type} in llama.cpp's {@code src/llama-quant.cpp} for a Llama model
 * (not Falcon, no experts, not the 70B special case):
 * <ul>
 *   <li>the output projection is Q6_K; the synthetic models tie it to the token embedding, and for tied
 *   embeddings llama.cpp gives {@code token_embd.weight} the output's type, so the embedding is Q6_K;</li>
 *   <li>{@code attn_v} and {@code ffn_down} are Q6_K in the layers where {@link #useMoreBits} holds, Q4_K
 *   elsewhere;</li>
 *   <li>every other matrix ({@code attn_q}, {@code attn_k}, {@code attn_output}, {@code ffn_gate},
 *   {@code ffn_up}) is Q4_K.</li>
 * </ul>
 * llama.cpp falls back to other types for rows that are not a multiple of 256; the synthetic writer rejects
 * such shapes instead (see {@link #rowMultiple}).
 */
public final class QuantMix {
    /** The weight matrices of a Llama layer, plus the (tied) token embedding, which is also the output projection. */
    public enum Role { TOKEN_EMBD, ATTN_Q, ATTN_K, ATTN_V, ATTN_OUTPUT, FFN_GATE, FFN_UP, FFN_DOWN }

    /** llama.cpp's {@code LLAMA_FTYPE_MOSTLY_Q4_K_M}. */
    static final int FTYPE_Q4_K_M = 15;

    /** Mostly Q4_K; Q6_K for the output (tied embedding) and for attn_v and ffn_down in some layers. */
    public static final QuantMix Q4_K_M = new QuantMix("q4_k_m", GgmlType.Q4_K, FTYPE_Q4_K_M, true);

    private final String name;
    private final GgmlType base;
    private final int fileType;
    private final boolean kMix;

    private QuantMix(String name, GgmlType base, int fileType, boolean kMix) {
        this.name = name;
        this.base = base;
        this.fileType = fileType;
        this.kMix = kMix;
    }

    /** Every matrix in {@code type}. */
    public static QuantMix uniform(GgmlType type) {
        return new QuantMix(type.name().toLowerCase(Locale.ROOT), type, uniformFileType(type), false);
    }

    /** The name used on the command line, in file names and in the bench's {@code quant} field. */
    public String name() {
        return name;
    }

    /** The type of most matrices. */
    public GgmlType base() {
        return base;
    }

    /** Whether the types differ between matrices. */
    public boolean mixed() {
        return kMix;
    }

    /** The GGUF {@code general.file_type} (llama.cpp's {@code LLAMA_FTYPE_*} number). */
    public int fileType() {
        return fileType;
    }

    /** The type of the matrix with {@code role} in layer {@code layer} of {@code layers} (layer is ignored for the embedding). */
    public GgmlType typeOf(Role role, int layer, int layers) {
        if (!kMix) return base;
        return switch (role) {
            case TOKEN_EMBD -> GgmlType.Q6_K;
            case ATTN_V, FFN_DOWN -> useMoreBits(layer, layers) ? GgmlType.Q6_K : GgmlType.Q4_K;
            default -> GgmlType.Q4_K;
        };
    }

    /** Every row length must be a multiple of this (the largest block of the types used). */
    public int rowMultiple() {
        return kMix ? Math.max(GgmlType.Q4_K.blockSize(), GgmlType.Q6_K.blockSize()) : base.blockSize();
    }

    /**
     * llama.cpp's {@code use_more_bits}: the first and last eighth of the layers, and every third layer in between
     * (starting with the third after the first eighth). For 16 layers: 0, 1, 4, 7, 10, 13, 14, 15.
     */
    public static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    @Override
    public String toString() {
        return name;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantMix m && m.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    /** llama.cpp's LLAMA_FTYPE numbers for "mostly this type". */
    private static int uniformFileType(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case Q4_K -> 15; // llama.cpp has no all-Q4_K file type; `llama-quantize --pure ... Q4_K_M` writes 15 too
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no file type for " + t);
        };
    }
}
