package io.conduit.core.gguf;

import io.conduit.core.model.MappedFiles;
import io.conduit.core.model.ModelFormatException;
import io.conduit.core.tensor.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF (v2 or v3) file, memory-mapped whole through the FFM API so that tensors are read in place and
 * files larger than 2 GiB work. Every length and offset read from the file is checked against the file
 * size, so a truncated or corrupt file fails here with a message instead of later with garbage.
 *
 * <p>Metadata values arrive as: integers as {@link Long}, float32 as {@link Float}, float64 as
 * {@link Double}, bool as {@link Boolean}, strings as {@link String}; arrays of strings as
 * {@code List<String>}, of integers up to 32 bits as {@code int[]}, of 64-bit integers as {@code long[]},
 * of float32 as {@code float[]}, of float64 as {@code double[]}, of bools as {@code boolean[]}, and nested
 * arrays as {@code List<Object>}.
 */
public final class GgufFile implements AutoCloseable {
    static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufTensorInfo> tensors;

    private GgufFile(Path path, Arena arena, MemorySegment data, int version,
                     Map<String, Object> metadata, Map<String, GgufTensorInfo> tensors) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** Maps and parses {@code path}. The mapping lives until {@link #close()}. */
    public static GgufFile open(Path path) {
        if (!Files.exists(path)) {
            throw new ModelFormatException("model file not found: " + path);
        }
        if (!Files.isRegularFile(path)) {
            throw new ModelFormatException("not a regular file: " + path);
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment segment = MappedFiles.mapReadOnly(path, arena);
            Parser parser = new Parser(path, segment);
            parser.parse();
            return new GgufFile(path, arena, segment, parser.version,
                    Collections.unmodifiableMap(parser.metadata), Collections.unmodifiableMap(parser.tensors));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() { return path; }

    public int version() { return version; }

    public Map<String, Object> metadata() { return metadata; }

    /** Tensors in file order. */
    public Map<String, GgufTensorInfo> tensors() { return tensors; }

    public GgufTensorInfo tensor(String name) { return tensors.get(name); }

    /** The whole mapped file; tensor data lives at {@link GgufTensorInfo#dataOffset()}. */
    public MemorySegment segment() { return data; }

    @Override
    public void close() {
        arena.close();
    }

    /** A tensor entry as read, before its offset is resolved against the data section. */
    private record RawTensor(String name, long[] dims, int typeId, long relativeOffset) {}

    /** Reads the header, metadata and tensor infos with a bounds-checked cursor. */
    private static final class Parser {
        private final Path path;
        private final MemorySegment seg;
        private final long size;
        private long pos;
        int version;
        final Map<String, Object> metadata = new LinkedHashMap<>();
        final Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();

        Parser(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        void parse() {
            if (size < 4 || seg.get(LE_INT, 0) != MAGIC) {
                throw corrupt("not a GGUF file (bad magic)");
            }
            pos = 4;
            version = u32AsInt("version");
            if (version == 1) {
                throw new ModelFormatException(path + ": GGUF version 1 is not supported (convert the model to GGUF v3)");
            }
            if (version < 2 || version > 3) {
                throw corrupt("unsupported GGUF version " + version);
            }
            long tensorCount = u64("tensor count");
            long kvCount = u64("metadata count");
            // Each tensor info / metadata entry takes at least 8+... bytes, so counts beyond the file are corrupt.
            if (tensorCount < 0 || tensorCount > size / 8 || kvCount < 0 || kvCount > size / 8) {
                throw new ModelFormatException(path + ": file is truncated or corrupt: it declares " + tensorCount
                        + " tensors and " + kvCount + " metadata entries but has only " + size + " bytes");
            }
            for (long i = 0; i < kvCount; i++) {
                String key = string("metadata key");
                GgufValueType type = valueType("metadata " + key);
                metadata.put(key, value(type, key));
            }
            List<RawTensor> pending = new ArrayList<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = string("tensor name");
                int nDims = u32AsInt("dimension count of " + name);
                if (nDims < 1 || nDims > MAX_DIMS) {
                    throw corrupt("tensor " + name + " has " + nDims + " dimensions");
                }
                long[] dims = new long[nDims];
                for (int d = 0; d < nDims; d++) {
                    dims[d] = u64("dimension of " + name);
                    if (dims[d] <= 0) throw corrupt("tensor " + name + " has dimension " + dims[d]);
                }
                int typeId = u32AsInt("type of " + name);
                long offset = u64("offset of " + name);
                pending.add(new RawTensor(name, dims, typeId, offset));
            }
            long alignment = DEFAULT_ALIGNMENT;
            Object a = metadata.get("general.alignment");
            if (a instanceof Long l) {
                if (l <= 0 || (l & (l - 1)) != 0) throw corrupt("general.alignment " + l + " is not a power of two");
                alignment = l;
            }
            long dataStart = (pos + alignment - 1) / alignment * alignment;
            for (RawTensor raw : pending) {
                String name = raw.name();
                long[] dims = raw.dims();
                int typeId = raw.typeId();
                long rel = raw.relativeOffset();
                GgmlType type = GgmlType.fromId(typeId);
                long elements = 1;
                for (long d : dims) elements = Math.multiplyExact(elements, d);
                long bytes = -1;
                if (type != null) {
                    if (dims[0] % type.blockSize() != 0) {
                        throw corrupt("tensor " + name + " row length " + dims[0] + " is not a multiple of the "
                                + type + " block size " + type.blockSize());
                    }
                    bytes = type.byteSize(elements);
                }
                long abs = dataStart + rel;
                if (rel < 0 || abs > size || (bytes >= 0 && abs + bytes > size)) {
                    throw new ModelFormatException(path + ": file is truncated: tensor " + name + " needs bytes "
                            + abs + ".." + (abs + Math.max(bytes, 0)) + " but the file has " + size + " bytes");
                }
                if (tensors.put(name, new GgufTensorInfo(name, dims, type, typeId, abs, bytes)) != null) {
                    throw corrupt("duplicate tensor " + name);
                }
            }
        }

        private Object value(GgufValueType type, String key) {
            return switch (type) {
                case UINT8 -> (long) (byte1(key) & 0xFF);
                case INT8 -> (long) byte1(key);
                case UINT16 -> (long) (short2(key) & 0xFFFF);
                case INT16 -> (long) short2(key);
                case UINT32 -> u32(key);
                case INT32 -> (long) i32(key);
                case FLOAT32 -> Float.intBitsToFloat(i32(key));
                case BOOL -> byte1(key) != 0;
                case STRING -> string(key);
                case UINT64, INT64 -> u64Raw(key);
                case FLOAT64 -> Double.longBitsToDouble(u64Raw(key));
                case ARRAY -> array(key);
            };
        }

        private Object array(String key) {
            GgufValueType elem = valueType("array element of " + key);
            long n = u64("array length of " + key);
            int minSize = elem == GgufValueType.STRING ? 8 : elem == GgufValueType.ARRAY ? 12 : elem.scalarSize();
            if (n < 0 || n > Integer.MAX_VALUE - 8 || n * minSize > size - pos) {
                throw truncated("array " + key + " of " + n + " elements");
            }
            int len = (int) n;
            switch (elem) {
                case STRING: {
                    List<String> out = new ArrayList<>(len);
                    for (int i = 0; i < len; i++) out.add(string(key));
                    return Collections.unmodifiableList(out);
                }
                case UINT8, INT8, UINT16, INT16, UINT32, INT32: {
                    int[] out = new int[len];
                    for (int i = 0; i < len; i++) {
                        out[i] = switch (elem) {
                            case UINT8 -> byte1(key) & 0xFF;
                            case INT8 -> byte1(key);
                            case UINT16 -> short2(key) & 0xFFFF;
                            case INT16 -> short2(key);
                            default -> i32(key);
                        };
                    }
                    return out;
                }
                case UINT64, INT64: {
                    long[] out = new long[len];
                    for (int i = 0; i < len; i++) out[i] = u64Raw(key);
                    return out;
                }
                case FLOAT32: {
                    float[] out = new float[len];
                    MemorySegment.copy(seg, LE_FLOAT, pos, out, 0, len);
                    pos += 4L * len;
                    return out;
                }
                case FLOAT64: {
                    double[] out = new double[len];
                    for (int i = 0; i < len; i++) out[i] = Double.longBitsToDouble(u64Raw(key));
                    return out;
                }
                case BOOL: {
                    boolean[] out = new boolean[len];
                    for (int i = 0; i < len; i++) out[i] = byte1(key) != 0;
                    return out;
                }
                case ARRAY: {
                    List<Object> out = new ArrayList<>(len);
                    for (int i = 0; i < len; i++) out.add(array(key));
                    return Collections.unmodifiableList(out);
                }
                default:
                    throw corrupt("bad array element type for " + key);
            }
        }

        private GgufValueType valueType(String what) {
            int id = i32(what);
            GgufValueType t = GgufValueType.fromId(id);
            if (t == null) throw corrupt("unknown value type " + id + " for " + what);
            return t;
        }

        private String string(String what) {
            long len = u64("length of " + what);
            if (len < 0 || len > size - pos) throw truncated(what + " (string of " + len + " bytes)");
            byte[] bytes = new byte[(int) len];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, bytes, 0, bytes.length);
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                // Some vocabularies hold raw byte strings; keep them readable rather than failing the model.
                return new String(bytes, StandardCharsets.UTF_8);
            }
        }

        private void need(long n, String what) {
            if (pos + n > size) throw truncated(what);
        }

        private byte byte1(String what) {
            need(1, what);
            return seg.get(ValueLayout.JAVA_BYTE, pos++);
        }

        private short short2(String what) {
            need(2, what);
            short v = seg.get(LE_SHORT, pos);
            pos += 2;
            return v;
        }

        private int i32(String what) {
            need(4, what);
            int v = seg.get(LE_INT, pos);
            pos += 4;
            return v;
        }

        private long u32(String what) {
            return i32(what) & 0xFFFFFFFFL;
        }

        private int u32AsInt(String what) {
            long v = u32(what);
            if (v > Integer.MAX_VALUE) throw corrupt(what + " is " + v);
            return (int) v;
        }

        private long u64Raw(String what) {
            need(8, what);
            long v = seg.get(LE_LONG, pos);
            pos += 8;
            return v;
        }

        private long u64(String what) {
            long v = u64Raw(what);
            if (v < 0) throw corrupt(what + " is out of range");
            return v;
        }

        private ModelFormatException truncated(String what) {
            return new ModelFormatException(path + ": file is truncated or corrupt: cannot read " + what
                    + " at byte " + pos + " of " + size);
        }

        private ModelFormatException corrupt(String what) {
            return new ModelFormatException(path + ": corrupt GGUF file: " + what);
        }
    }

    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
}
