package io.conduit.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Reads, writes and multiplies tensors stored in one of the ggml/GGUF element types, using exactly ggml's
 * little-endian block layouts so that tensors from llama.cpp GGUF files can be used in place (for example
 * straight from a memory-mapped file). Offsets into segments are {@code long} because tensors may exceed 2 GiB.
 *
 * <p>Implementations are stateless and thread-safe. {@code n} must always be a whole number of blocks
 * ({@code type().blockSize()}), and the segment must be a native segment (mapped or allocated) or a heap
 * segment over a {@code byte[]}: the vector loads of {@link #dot} need one of those.
 */
public interface TensorCodec {

    GgmlType type();

    /** Dequantizes n elements (n a multiple of type().blockSize()) starting at byte offset in src. */
    void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n);

    /** Fast dot product (Vector API where it pays) of n weight elements at byteOffset with x[xOff..xOff+n). */
    float dot(MemorySegment w, long byteOffset, float[] x, int xOff, int n);

    /** Plain scalar reference of dot(): straight loops, the definition the fast path is tested against. */
    float dotReference(MemorySegment w, long byteOffset, float[] x, int xOff, int n);

    /** Encodes n floats (multiple of blockSize) into the type's blocks at dst+byteOffset (ggml reference quantizers). */
    void quantize(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset);

    /**
     * The codec for {@code type}.
     *
     * @throws UnsupportedTensorTypeException if Conduit cannot compute with that type
     */
    static TensorCodec of(GgmlType type) {
        if (type == null) {
            throw new UnsupportedTensorTypeException(null);
        }
        return switch (type) {
            case F32 -> F32Codec.INSTANCE;
            case F16 -> F16Codec.INSTANCE;
            case BF16 -> BF16Codec.INSTANCE;
            case Q8_0 -> Q8_0Codec.INSTANCE;
            case Q4_0 -> Q4_0Codec.INSTANCE;
            case Q4_K -> Q4_KCodec.INSTANCE;
            case Q6_K -> Q6_KCodec.INSTANCE;
            default -> throw new UnsupportedTensorTypeException(type);
        };
    }
}
