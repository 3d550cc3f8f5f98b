package io.conduit.core.gguf;

import io.conduit.core.tensor.GgmlType;

/**
 * One tensor's entry in a GGUF file. {@code dims} are in ggml order: {@code dims[0]} is the innermost
 * (contiguous) dimension, so a weight matrix of shape rows x cols has {@code dims = {cols, rows}}.
 *
 * @param type       the element type, or null when the file uses a type number this engine does not know
 * @param typeId     the raw type number from the file
 * @param dataOffset absolute byte offset of the tensor's data in the file
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, int typeId, long dataOffset, long byteSize) {

    public long elementCount() {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    public String typeName() {
        return type != null ? type.name() : "unknown type #" + typeId;
    }

    public String shape() {
        return java.util.Arrays.toString(dims);
    }
}
