package io.conduit.core.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Random data and small byte-level helpers shared by the codec tests. */
final class CodecTestSupport {
    private CodecTestSupport() {}

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static final GgmlType[] SUPPORTED = {
            GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K};

    static float[] gaussian(Random rnd, int n, float sigma) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian() * sigma;
        return v;
    }

    /** Byte offsets of the fp16 scale fields inside one block, per quantized type. */
    static int[] fp16FieldOffsets(GgmlType t) {
        return switch (t) {
            case Q8_0, Q4_0 -> new int[] {0};
            case Q4_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> new int[0];
        };
    }

    /**
     * n elements of type t at byte offset off of a fresh segment with {@code slack} spare bytes after them.
     * Plain float types get encoded Gaussian values; quantized types get fully random bytes (every
     * possible quant and scale bit pattern) except that the fp16 scales are set to finite random values.
     */
    static MemorySegment randomTensor(Arena arena, Random rnd, GgmlType t, int n, long off, int slack) {
        long bytes = t.byteSize(n);
        MemorySegment seg = arena.allocate(off + bytes + slack, 1);
        if (!t.quantized()) {
            TensorCodec.of(t).quantize(gaussian(rnd, n, 1f), 0, n, seg, off);
            return seg;
        }
        byte[] raw = new byte[(int) bytes];
        rnd.nextBytes(raw);
        MemorySegment.copy(raw, 0, seg, ValueLayout.JAVA_BYTE, off, raw.length);
        for (long b = 0; b < n / t.blockSize(); b++) {
            for (int f : fp16FieldOffsets(t)) {
                float scale = (rnd.nextFloat() * 2f - 0.5f) * 0.01f; // mostly positive, some negative
                seg.set(LE_SHORT, off + b * t.typeSize() + f, Float.floatToFloat16(scale));
            }
        }
        return seg;
    }

    static MemorySegment bytes(Arena arena, int... values) {
        MemorySegment seg = arena.allocate(values.length, 1);
        for (int i = 0; i < values.length; i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) values[i]);
        return seg;
    }
}
