package io.conduit.core.gguf;

import io.conduit.core.model.ModelFormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The metadata section of a GGUF file as raw (type id, value bytes) pairs in file order, for tools that
 * rewrite a file (quantization) and must keep every entry bit for bit, including its integer width, which
 * {@link GgufFile#metadata()} folds into Java types.
 */
public final class GgufRawMetadata {
    /** One entry: its GGUF type id and the bytes of its value (for arrays: element type, count, elements). */
    public record Raw(int typeId, byte[] value) {}

    private GgufRawMetadata() {
    }

    public static Map<String, Raw> read(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, Integer.MAX_VALUE))
                    .order(ByteOrder.LITTLE_ENDIAN);
            if (b.getInt() != GgufFile.MAGIC) throw new ModelFormatException(path + ": not a GGUF file");
            int version = b.getInt();
            if (version < 2) throw new ModelFormatException(path + ": GGUF version " + version + " is not supported");
            b.getLong(); // tensor count
            long kvCount = b.getLong();
            Map<String, Raw> out = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = string(b);
                int type = b.getInt();
                int start = b.position();
                skip(b, type);
                byte[] value = new byte[b.position() - start];
                b.get(start, value);
                out.put(key, new Raw(type, value));
            }
            return out;
        } catch (IOException | RuntimeException e) {
            if (e instanceof ModelFormatException m) throw m;
            throw new ModelFormatException(path + ": cannot read GGUF metadata: " + e, e);
        }
    }

    private static String string(ByteBuffer b) {
        int len = Math.toIntExact(b.getLong());
        byte[] s = new byte[len];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static void skip(ByteBuffer b, int type) {
        switch (type) {
            case 0, 1, 7 -> b.position(b.position() + 1); // uint8, int8, bool
            case 2, 3 -> b.position(b.position() + 2);
            case 4, 5, 6 -> b.position(b.position() + 4);
            case 10, 11, 12 -> b.position(b.position() + 8);
            case 8 -> b.position(Math.toIntExact(b.position() + 8 + b.getLong(b.position())));
            case 9 -> {
                int elem = b.getInt();
                long n = b.getLong();
                for (long j = 0; j < n; j++) skip(b, elem);
            }
            default -> throw new IllegalArgumentException("unknown GGUF value type " + type);
        }
    }

    /** The value bytes of a uint32. */
    public static byte[] u32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }
}
