package io.conduit.core.quant;

import io.conduit.core.gguf.GgufFile;
import io.conduit.core.gguf.GgufRawMetadata;
import io.conduit.core.gguf.GgufTensorInfo;
import io.conduit.core.gguf.GgufWriter;
import io.conduit.core.kernels.Parallel;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.TensorCodec;
import io.conduit.core.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Converts float weights (F32/F16/BF16) to Q8_0 or Q4_0 with ggml's reference quantizers, either in memory at
 * load time or into a new GGUF file that llama.cpp and other GGUF readers accept.
 */
public final class Quantizer {
    private Quantizer() {
    }

    /** The target types this tool writes. */
    public static GgmlType parseTarget(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "q8_0" -> GgmlType.Q8_0;
            case "q4_0" -> GgmlType.Q4_0;
            default -> throw new IllegalArgumentException("unsupported quantization type '" + name + "' (supported: q8_0, q4_0)");
        };
    }

    /** Whether a tensor of this type and row length is converted (float types with whole blocks per row). */
    public static boolean convertible(GgmlType from, long rowLength, GgmlType target) {
        return (from == GgmlType.F32 || from == GgmlType.F16 || from == GgmlType.BF16) && rowLength % target.blockSize() == 0;
    }

    /** A copy of {@code w} in {@code target}, allocated in {@code arena}; {@code w} itself when not convertible. */
    public static WeightMatrix quantize(WeightMatrix w, GgmlType target, Arena arena) {
        if (!convertible(w.type(), w.cols(), target)) return w;
        long rowBytes = target.byteSize(w.cols());
        MemorySegment dst = arena.allocate(rowBytes * w.rows(), 64);
        quantizeRows(w.segment(), w.offset(), w.type(), w.rows(), w.cols(), target, dst);
        return WeightMatrix.of(w.name(), dst, 0, target, w.rows(), w.cols());
    }

    static void quantizeRows(MemorySegment src, long srcOff, GgmlType from, int rows, int cols, GgmlType target,
                             MemorySegment dst) {
        TensorCodec in = TensorCodec.of(from);
        TensorCodec out = TensorCodec.of(target);
        long inRow = from.byteSize(cols);
        long outRow = target.byteSize(cols);
        Parallel.forRange(rows, 16, (a, b) -> {
            float[] row = new float[cols];
            for (int r = a; r < b; r++) {
                in.dequantize(src, srcOff + r * inRow, row, 0, cols);
                out.quantize(row, 0, cols, dst, r * outRow);
            }
        });
    }

    /** What {@link #quantizeFile} did. */
    public record Report(int converted, int copied, long inBytes, long outBytes) {}

    /**
     * Writes {@code out}: every metadata entry of {@code in} verbatim (general.file_type updated), 2-D float
     * weight tensors converted to {@code target}, everything else (norms, biases, already-quantized tensors)
     * copied as is.
     */
    public static Report quantizeFile(Path in, Path out, GgmlType target) {
        Map<String, GgufRawMetadata.Raw> raw = GgufRawMetadata.read(in);
        try (GgufFile file = GgufFile.open(in)) {
            GgufWriter w = new GgufWriter();
            raw.forEach((k, v) -> w.putRaw(k, v.typeId(), v.value()));
            if (raw.containsKey("general.alignment")) {
                byte[] a = raw.get("general.alignment").value();
                w.alignment(java.nio.ByteBuffer.wrap(a).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
            }
            w.putRaw("general.file_type", 4 /* uint32 */, GgufRawMetadata.u32(target == GgmlType.Q8_0 ? 7 : 2));
            int converted = 0;
            int copied = 0;
            long inBytes = 0;
            long outBytes = 0;
            for (GgufTensorInfo t : file.tensors().values()) {
                long[] dims = t.dims();
                inBytes += t.byteSize();
                boolean matrix = dims.length == 2 && t.name().endsWith(".weight") && t.type() != null
                        && convertible(t.type(), dims[0], target);
                if (matrix) {
                    int cols = Math.toIntExact(dims[0]);
                    int rows = Math.toIntExact(dims[1]);
                    GgmlType from = t.type();
                    long off = t.dataOffset();
                    w.addTensor(t.name(), target, dims, dst -> quantizeRows(file.segment(), off, from, rows, cols, target, dst));
                    outBytes += target.byteSize((long) rows * cols);
                    converted++;
                } else {
                    if (t.type() == null) throw new IllegalArgumentException(t.name() + ": tensor type " + t.typeName() + " cannot be copied");
                    long off = t.dataOffset();
                    long size = t.byteSize();
                    w.addTensor(t.name(), t.type(), dims, dst -> MemorySegment.copy(file.segment(), off, dst, 0, size));
                    outBytes += size;
                    copied++;
                }
            }
            w.write(out);
            return new Report(converted, copied, inBytes, outBytes);
        }
    }
}
