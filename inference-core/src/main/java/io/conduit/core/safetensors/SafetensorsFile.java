package io.conduit.core.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conduit.core.model.MappedFiles;
import io.conduit.core.model.ModelFormatException;
import io.conduit.core.model.TensorRef;
import io.conduit.core.tensor.GgmlType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped: an 8-byte little-endian header length, a JSON header
 * mapping tensor names to dtype, shape and byte range, then the raw data. Shapes are reported in ggml
 * order (innermost first) so the rest of the engine sees one convention.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private final Path path;
    private final Arena arena;
    private final Map<String, TensorRef> tensors;

    private SafetensorsFile(Path path, Arena arena, Map<String, TensorRef> tensors) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
    }

    public static SafetensorsFile open(Path path) {
        if (!Files.isRegularFile(path)) throw new ModelFormatException("model file not found: " + path);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = MappedFiles.mapReadOnly(path, arena);
            long size = seg.byteSize();
            if (size < 8) throw new ModelFormatException(path + ": file is truncated (no safetensors header)");
            long headerLen = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw new ModelFormatException(path + ": file is truncated or not safetensors (header length "
                        + headerLen + ", file size " + size + ")");
            }
            byte[] headerBytes = seg.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            JsonNode header;
            try {
                header = JSON.readTree(headerBytes);
            } catch (IOException e) {
                throw new ModelFormatException(path + ": corrupt safetensors header: " + e.getMessage());
            }
            if (header == null || !header.isObject()) throw new ModelFormatException(path + ": corrupt safetensors header");
            long dataStart = 8 + headerLen;
            Map<String, TensorRef> tensors = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) continue;
                tensors.put(e.getKey(), tensor(path, seg, dataStart, e.getKey(), e.getValue()));
            }
            return new SafetensorsFile(path, arena, Collections.unmodifiableMap(tensors));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static TensorRef tensor(Path path, MemorySegment seg, long dataStart, String name, JsonNode info) {
        String dtype = info.path("dtype").asText("");
        JsonNode shape = info.path("shape");
        JsonNode range = info.path("data_offsets");
        if (!shape.isArray() || !range.isArray() || range.size() != 2) {
            throw new ModelFormatException(path + ": corrupt safetensors entry for " + name);
        }
        long[] dims = new long[Math.max(1, shape.size())];
        dims[0] = 1;
        long elements = 1;
        for (int i = 0; i < shape.size(); i++) {
            long d = shape.get(i).asLong(-1);
            if (d < 0) throw new ModelFormatException(path + ": bad shape for " + name);
            dims[shape.size() - 1 - i] = d; // safetensors lists the outermost dimension first
            elements *= d;
        }
        GgmlType type = switch (dtype) {
            case "F32" -> GgmlType.F32;
            case "F16" -> GgmlType.F16;
            case "BF16" -> GgmlType.BF16;
            default -> null;
        };
        long begin = range.get(0).asLong(-1);
        long end = range.get(1).asLong(-1);
        if (begin < 0 || end < begin || dataStart + end > seg.byteSize()) {
            throw new ModelFormatException(path + ": file is truncated: tensor " + name + " needs bytes up to "
                    + (dataStart + end) + " but the file has " + seg.byteSize());
        }
        if (type != null && type.byteSize(elements) != end - begin) {
            throw new ModelFormatException(path + ": corrupt safetensors entry for " + name + ": " + elements
                    + " " + dtype + " elements do not fill " + (end - begin) + " bytes");
        }
        return new TensorRef(name, seg, dataStart + begin, type, dtype, dims);
    }

    public Path path() { return path; }

    public Map<String, TensorRef> tensors() { return tensors; }

    @Override
    public void close() {
        arena.close();
    }
}
