package io.conduit.core.model;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Memory-maps model files whole and read-only (FFM: long offsets, files over 2 GiB). */
public final class MappedFiles {
    private MappedFiles() {
    }

    /** Maps {@code path} into {@code arena}; a missing or unreadable file is a {@link ModelFormatException}. */
    public static MemorySegment mapReadOnly(Path path, Arena arena) {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException("model file not found: " + path, e);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }
}
