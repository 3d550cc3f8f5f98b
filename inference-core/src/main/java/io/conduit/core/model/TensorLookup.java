package io.conduit.core.model;

/** Finds tensors by name in one model's files (a GGUF file, or one or more safetensors shards). */
public interface TensorLookup {
    /** The tensor called {@code name}, or null when the model has none. */
    TensorRef find(String name);

    /** Human-readable name of the model's source, for error messages. */
    String source();
}
