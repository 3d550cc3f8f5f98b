package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Codecs address tensors by byte offset inside bigger segments (GGUF data sections), at any alignment. */
class TensorCodecOffsetTest {

    static Stream<GgmlType> types() {
        return Stream.of(CodecTestSupport.SUPPORTED);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void encodesAndDecodesAtAnUnalignedOffsetWithoutTouchingNeighbours(GgmlType type) {
        TensorCodec codec = TensorCodec.of(type);
        int n = 3 * 256;
        float[] x = CodecTestSupport.gaussian(new Random(type.id()), n + 10, 1f);
        long bytes = type.byteSize(n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment atZero = arena.allocate(bytes);
            codec.quantize(x, 4, n, atZero, 0);

            long off = 1001; // odd, so no multi-byte field is naturally aligned
            MemorySegment big = arena.allocate(off + bytes + 64);
            big.fill((byte) 0xA5);
            codec.quantize(x, 4, n, big, off);
            assertThat(big.asSlice(off, bytes).mismatch(atZero)).as("same bytes as at offset 0").isEqualTo(-1L);
            for (long i = 0; i < off; i++) assertThat(big.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i)).isEqualTo((byte) 0xA5);
            for (long i = off + bytes; i < big.byteSize(); i++) assertThat(big.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i)).isEqualTo((byte) 0xA5);

            float[] a = new float[n];
            float[] b = new float[n + 9];
            codec.dequantize(atZero, 0, a, 0, n);
            codec.dequantize(big, off, b, 9, n);
            assertThat(java.util.Arrays.copyOfRange(b, 9, n + 9)).containsExactly(a);

            // A block in the middle of the tensor decodes the same on its own.
            int bs = type.blockSize();
            int midBlock = n / bs / 2;
            float[] one = new float[bs];
            codec.dequantize(big, off + (long) midBlock * type.typeSize(), one, 0, bs);
            assertThat(one).containsExactly(java.util.Arrays.copyOfRange(a, midBlock * bs, midBlock * bs + bs));

            assertThat(codec.dot(big, off, x, 2, n)).isEqualTo(codec.dot(atZero, 0, x, 2, n));
            assertThat(codec.dotReference(big, off, x, 2, n)).isEqualTo(codec.dotReference(atZero, 0, x, 2, n));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void worksOnHeapByteArraySegments(GgmlType type) {
        TensorCodec codec = TensorCodec.of(type);
        int n = 2 * 256;
        float[] x = CodecTestSupport.gaussian(new Random(9), n, 1f);
        MemorySegment heap = MemorySegment.ofArray(new byte[(int) type.byteSize(n) + 5]);
        codec.quantize(x, 0, n, heap, 5);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nat = arena.allocate(type.byteSize(n));
            codec.quantize(x, 0, n, nat, 0);
            assertThat(codec.dot(heap, 5, x, 0, n)).isEqualTo(codec.dot(nat, 0, x, 0, n));
        }
    }

    /** Offsets beyond 2 GiB in a memory-mapped (sparse) file, as for big model files. */
    @Test
    void decodesBeyondTwoGibibytesInAMappedFile(@TempDir Path dir) throws IOException {
        long size = (3L << 30) + 4096;
        long off = (5L << 29) + 7;   // 2.5 GiB + 7
        Path file = dir.resolve("big.bin");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.SPARSE);
             Arena arena = Arena.ofConfined()) {
            MemorySegment map;
            try {
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), size - 1);
                map = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            } catch (IOException | UnsupportedOperationException e) {
                Assumptions.abort("cannot map a 3 GiB sparse file here: " + e);
                return;
            }
            for (GgmlType type : CodecTestSupport.SUPPORTED) {
                TensorCodec codec = TensorCodec.of(type);
                float[] x = CodecTestSupport.gaussian(new Random(type.id() + 100), 256, 1f);
                codec.quantize(x, 0, 256, map, off);
                float[] viaMap = new float[256];
                codec.dequantize(map, off, viaMap, 0, 256);
                MemorySegment copy = arena.allocate(type.byteSize(256));
                MemorySegment.copy(map, off, copy, 0, copy.byteSize());
                float[] viaCopy = new float[256];
                codec.dequantize(copy, 0, viaCopy, 0, 256);
                assertThat(viaMap).as(type.toString()).containsExactly(viaCopy);
                assertThat(codec.dot(map, off, x, 0, 256)).as(type.toString()).isEqualTo(codec.dot(copy, 0, x, 0, 256));
            }
        }
    }
}
