package io.conduit.core.model;

import java.util.Locale;

/**
 * The Llama-family architectures the one forward pass serves. Their differences are configuration
 * (QKV bias, RoPE layout, sliding window), never a copy of the model code.
 */
public enum Architecture {
    LLAMA,
    MISTRAL,
    QWEN2;

    /** From GGUF {@code general.architecture}. */
    public static Architecture fromGguf(String name, String file) {
        return switch (name == null ? "" : name.toLowerCase(Locale.ROOT)) {
            case "llama" -> LLAMA;
            case "mistral" -> MISTRAL;
            case "qwen2" -> QWEN2;
            default -> throw new ModelFormatException(file + ": unsupported architecture '" + name
                    + "' (supported: llama, mistral, qwen2)");
        };
    }

    /** From a Hugging Face {@code config.json} {@code model_type}. */
    public static Architecture fromHfModelType(String modelType, String file) {
        return switch (modelType == null ? "" : modelType.toLowerCase(Locale.ROOT)) {
            case "llama" -> LLAMA;
            case "mistral" -> MISTRAL;
            case "qwen2" -> QWEN2;
            default -> throw new ModelFormatException(file + ": unsupported model_type '" + modelType
                    + "' (supported: llama, mistral, qwen2)");
        };
    }

    /** Qwen2 adds biases to the Q, K and V projections. */
    public boolean qkvBiasByDefault() {
        return this == QWEN2;
    }
}
