package io.conduit.core.gguf;

import io.conduit.core.tensor.GgmlType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF v3 files that llama.cpp and other GGUF tools read: typed metadata (the types matter, since
 * readers check e.g. that {@code llama.block_count} is a uint32) and aligned tensor data. Tensor bytes are
 * produced by a {@link TensorFiller} straight into the memory-mapped output, so multi-GiB synthetic models
 * are written without holding them in the heap. The file appears atomically (written aside, then moved).
 */
public final class GgufWriter {

    /** Writes exactly {@code byteSize} bytes of a tensor's data into {@code dst} (a slice of the output file). */
    @FunctionalInterface
    public interface TensorFiller {
        void fill(MemorySegment dst);
    }

    private record Entry(GgufValueType type, GgufValueType elementType, Object value) {}

    private record PendingTensor(String name, GgmlType type, long[] dims, long byteSize, TensorFiller filler) {}

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;

    public GgufWriter putString(String key, String value) { return put(key, GgufValueType.STRING, null, value); }

    public GgufWriter putUInt32(String key, long value) {
        if (value < 0 || value > 0xFFFFFFFFL) throw new IllegalArgumentException(key + ": " + value + " is not a uint32");
        return put(key, GgufValueType.UINT32, null, value);
    }

    public GgufWriter putInt32(String key, int value) { return put(key, GgufValueType.INT32, null, (long) value); }

    public GgufWriter putUInt64(String key, long value) { return put(key, GgufValueType.UINT64, null, value); }

    public GgufWriter putFloat32(String key, float value) { return put(key, GgufValueType.FLOAT32, null, value); }

    public GgufWriter putBool(String key, boolean value) { return put(key, GgufValueType.BOOL, null, value); }

    public GgufWriter putStringArray(String key, List<String> values) {
        return put(key, GgufValueType.ARRAY, GgufValueType.STRING, List.copyOf(values));
    }

    public GgufWriter putFloat32Array(String key, float[] values) {
        return put(key, GgufValueType.ARRAY, GgufValueType.FLOAT32, values.clone());
    }

    public GgufWriter putInt32Array(String key, int[] values) {
        return put(key, GgufValueType.ARRAY, GgufValueType.INT32, values.clone());
    }

    /** Sets {@code general.alignment} (a power of two) for tensor data. */
    public GgufWriter alignment(int alignment) {
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) {
            throw new IllegalArgumentException("alignment must be a power of two: " + alignment);
        }
        this.alignment = alignment;
        return putUInt32("general.alignment", alignment);
    }

    /**
     * Adds a tensor. {@code dims} are in ggml order (innermost first: a rows x cols matrix is {cols, rows}).
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, TensorFiller filler) {
        long elements = 1;
        for (long d : dims) elements = Math.multiplyExact(elements, d);
        tensors.add(new PendingTensor(name, type, dims.clone(), type.byteSize(elements), filler));
        return this;
    }

    /** Adds an F32 tensor from an array. */
    public GgufWriter addF32Tensor(String name, long[] dims, float[] values) {
        return addTensor(name, GgmlType.F32, dims, dst ->
                MemorySegment.copy(values, 0, dst, GgufFile.LE_FLOAT, 0, values.length));
    }

    /**
     * Adds a metadata entry exactly as another GGUF file stored it ({@link GgufRawMetadata}): its type id and
     * value bytes are copied verbatim, so integer widths and array element types survive a rewrite.
     */
    public GgufWriter putRaw(String key, int typeId, byte[] valueBytes) {
        metadata.put(key, new Entry(null, null, new RawValue(typeId, valueBytes.clone())));
        return this;
    }

    private record RawValue(int typeId, byte[] bytes) {}

    private GgufWriter put(String key, GgufValueType type, GgufValueType elementType, Object value) {
        metadata.put(key, new Entry(type, elementType, value));
        return this;
    }

    public void write(Path path) {
        byte[] header = header();
        long dataStart = align(header.length);
        long[] offsets = new long[tensors.size()];
        long cursor = 0;
        for (int i = 0; i < tensors.size(); i++) {
            offsets[i] = cursor;
            cursor = align(cursor + tensors.get(i).byteSize());
        }
        long total = dataStart + cursor;
        Path tmp = path.resolveSibling(path.getFileName() + ".partial");
        try {
            if (path.getParent() != null) Files.createDirectories(path.getParent());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
                 Arena arena = Arena.ofShared()) { // shared: fillers may write in parallel
                MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
                MemorySegment.copy(MemorySegment.ofArray(header), 0, out, 0, header.length);
                for (int i = 0; i < tensors.size(); i++) {
                    PendingTensor t = tensors.get(i);
                    t.filler().fill(out.asSlice(dataStart + offsets[i], t.byteSize()));
                }
                out.force();
            }
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }

    private long align(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private byte[] header() {
        LittleEndianOut out = new LittleEndianOut();
        out.i32(GgufFile.MAGIC);
        out.i32(3);
        out.i64(tensors.size());
        out.i64(metadata.size());
        metadata.forEach((key, e) -> {
            out.string(key);
            if (e.value() instanceof RawValue raw) {
                out.i32(raw.typeId());
                out.bytes(raw.bytes());
                return;
            }
            out.i32(e.type().id());
            if (e.type() == GgufValueType.ARRAY) {
                writeArray(out, e.elementType(), e.value());
            } else {
                writeScalar(out, e.type(), e.value());
            }
        });
        long cursor = 0;
        for (PendingTensor t : tensors) {
            out.string(t.name());
            out.i32(t.dims().length);
            for (long d : t.dims()) out.i64(d);
            out.i32(t.type().id());
            out.i64(cursor);
            cursor = align(cursor + t.byteSize());
        }
        return out.toByteArray();
    }

    private static void writeScalar(LittleEndianOut out, GgufValueType type, Object v) {
        switch (type) {
            case STRING -> out.string((String) v);
            case UINT32, INT32 -> out.i32((int) (long) (Long) v);
            case UINT64, INT64 -> out.i64((Long) v);
            case FLOAT32 -> out.i32(Float.floatToRawIntBits((Float) v));
            case BOOL -> out.u8((Boolean) v ? 1 : 0);
            default -> throw new IllegalStateException("scalar type " + type + " is not written by this writer");
        }
    }

    private static void writeArray(LittleEndianOut out, GgufValueType elem, Object v) {
        out.i32(elem.id());
        switch (elem) {
            case STRING -> {
                List<?> list = (List<?>) v;
                out.i64(list.size());
                for (Object s : list) out.string((String) s);
            }
            case FLOAT32 -> {
                float[] a = (float[]) v;
                out.i64(a.length);
                for (float f : a) out.i32(Float.floatToRawIntBits(f));
            }
            case INT32 -> {
                int[] a = (int[]) v;
                out.i64(a.length);
                for (int x : a) out.i32(x);
            }
            default -> throw new IllegalStateException("array type " + elem + " is not written by this writer");
        }
    }

    /** A growable little-endian byte sink for the header. */
    private static final class LittleEndianOut {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void u8(int v) { bytes.write(v); }

        void bytes(byte[] b) { bytes.write(b, 0, b.length); }

        void i32(int v) {
            scratch.clear();
            scratch.putInt(v);
            bytes.write(scratch.array(), 0, 4);
        }

        void i64(long v) {
            scratch.clear();
            scratch.putLong(v);
            bytes.write(scratch.array(), 0, 8);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            bytes.write(b, 0, b.length);
        }

        byte[] toByteArray() { return bytes.toByteArray(); }
    }
}
