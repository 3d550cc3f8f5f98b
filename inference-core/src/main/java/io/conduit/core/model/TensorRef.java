package io.conduit.core.model;

import io.conduit.core.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A tensor found in a model file: where its bytes are and how to read them. {@code dims} are in ggml order
 * (innermost first), whatever the file format.
 *
 * @param type null when the file uses a type this engine cannot read; {@code typeName} still names it
 */
public record TensorRef(String name, MemorySegment segment, long offset, GgmlType type, String typeName, long[] dims) {

    public String shape() {
        return Arrays.toString(dims);
    }
}
