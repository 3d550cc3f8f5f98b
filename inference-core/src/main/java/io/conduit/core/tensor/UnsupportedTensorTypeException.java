package io.conduit.core.tensor;

/** A tensor uses a ggml type Conduit has no codec for; the message names the type so the user knows why. */
public class UnsupportedTensorTypeException extends IllegalArgumentException {

    private final GgmlType type;

    public UnsupportedTensorTypeException(GgmlType type) {
        super(type == null
                ? "Unsupported tensor type: null"
                : "Unsupported tensor type " + type + " (ggml type id " + type.id() + "); supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K");
        this.type = type;
    }

    /** The rejected type (null if none was given). */
    public GgmlType type() {
        return type;
    }
}
