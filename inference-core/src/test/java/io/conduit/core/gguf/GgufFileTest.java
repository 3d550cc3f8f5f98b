package io.conduit.core.gguf;

import io.conduit.core.model.ModelFormatException;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.WeightMatrix;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufFileTest {
    @TempDir
    Path tmp;

    @Test
    void readsTheSharedStoriesModel() {
        try (GgufFile f = GgufFile.open(TestModels.stories260k())) {
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.metadata()).containsEntry("general.architecture", "llama")
                    .containsEntry("llama.block_count", 5L)
                    .containsEntry("llama.attention.head_count_kv", 4L);
            assertThat((List<?>) f.metadata().get("tokenizer.ggml.tokens")).hasSize(512);
            assertThat((float[]) f.metadata().get("tokenizer.ggml.scores")).hasSize(512);
            assertThat((int[]) f.metadata().get("tokenizer.ggml.token_type")).hasSize(512);
            GgufTensorInfo embd = f.tensor("token_embd.weight");
            assertThat(embd.type()).isEqualTo(GgmlType.F32);
            assertThat(embd.dims()).containsExactly(64, 512);
            assertThat(embd.dataOffset() % 32).isZero();
        }
    }

    @Test
    void writerOutputReadsBackIdentically() {
        Path p = tmp.resolve("rt.gguf");
        float[] values = new float[64];
        for (int i = 0; i < values.length; i++) values[i] = i * 0.5f - 3;
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putUInt32("llama.block_count", 4000000000L)
                .putInt32("some.int", -7)
                .putUInt64("some.u64", 1L << 40)
                .putFloat32("some.float", 1.5f)
                .putBool("some.bool", true)
                .putStringArray("some.strings", List.of("a", "\u2581b", "\uD83D\uDE00"))
                .putFloat32Array("some.floats", new float[]{1f, -2f})
                .putInt32Array("some.ints", new int[]{3, -4})
                .addF32Tensor("t.a", new long[]{16, 4}, values)
                .addF32Tensor("t.b", new long[]{3}, new float[]{7, 8, 9})
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.metadata()).containsEntry("llama.block_count", 4000000000L)
                    .containsEntry("some.int", -7L).containsEntry("some.u64", 1L << 40)
                    .containsEntry("some.float", 1.5f).containsEntry("some.bool", true)
                    .containsEntry("some.strings", List.of("a", "\u2581b", "\uD83D\uDE00"));
            assertThat((float[]) f.metadata().get("some.floats")).containsExactly(1f, -2f);
            assertThat((int[]) f.metadata().get("some.ints")).containsExactly(3, -4);
            GgufTensorInfo a = f.tensor("t.a");
            assertThat(a.dims()).containsExactly(16, 4);
            float[] back = f.segment().asSlice(a.dataOffset(), 256).toArray(ValueLayout.JAVA_FLOAT);
            assertThat(back).containsExactly(values);
            GgufTensorInfo b = f.tensor("t.b");
            assertThat(b.dataOffset() % 32).isZero();
            assertThat(f.segment().asSlice(b.dataOffset(), 12).toArray(ValueLayout.JAVA_FLOAT)).containsExactly(7, 8, 9);
        }
    }

    @Test
    void tensorsBeyondTwoGibibytesAreReadInPlace() {
        // A sparse 2.4 GiB file: only the last row is written, so the test costs no real disk or time.
        int cols = 1024;
        int rows = 600_000;
        float[] last = new float[cols];
        for (int i = 0; i < cols; i++) last[i] = i + 0.25f;
        Path p = tmp.resolve("big.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("big", GgmlType.F32, new long[]{cols, rows}, dst ->
                        java.lang.foreign.MemorySegment.copy(last, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED,
                                (long) (rows - 1) * cols * 4, cols))
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            GgufTensorInfo t = f.tensor("big");
            assertThat(t.dataOffset() + t.byteSize()).isGreaterThan(1L << 31);
            WeightMatrix m = WeightMatrix.of("big", f.segment(), t.dataOffset(), GgmlType.F32, rows, cols);
            float[] row = new float[cols];
            m.dequantizeRow(rows - 1, row, 0);
            assertThat(row).containsExactly(last);
        }
    }

    @Test
    void missingFileIsNamed() {
        assertThatThrownBy(() -> GgufFile.open(tmp.resolve("nope.gguf")))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("not found").hasMessageContaining("nope.gguf");
    }

    @Test
    void truncatedFilesFailAtEveryCut() throws IOException {
        byte[] whole = Files.readAllBytes(TestModels.stories260k());
        // Cut inside the header, the metadata, the tensor infos and the tensor data.
        for (int cut : new int[]{3, 10, 20, 200, 5000, 20000, whole.length / 2, whole.length - 1}) {
            Path p = tmp.resolve("cut" + cut + ".gguf");
            Files.write(p, Arrays.copyOf(whole, cut));
            assertThatThrownBy(() -> GgufFile.open(p)).as("cut at " + cut)
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageMatching("(?s).*(truncated|bad magic).*");
        }
    }

    @Test
    void corruptHeadersAreRejectedWithReasons() throws IOException {
        byte[] whole = Files.readAllBytes(TestModels.stories260k());
        assertThatThrownBy(() -> GgufFile.open(write("magic.gguf", patch(whole, 0, 0x12345678))))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("bad magic");
        assertThatThrownBy(() -> GgufFile.open(write("v1.gguf", patch(whole, 4, 1))))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("version 1");
        assertThatThrownBy(() -> GgufFile.open(write("v9.gguf", patch(whole, 4, 9))))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("version 9");
        // The first metadata value type lives after magic, version, two counts and the first key.
        int firstKeyLen = ByteBuffer.wrap(whole, 24, 8).order(ByteOrder.LITTLE_ENDIAN).getInt();
        assertThatThrownBy(() -> GgufFile.open(write("type.gguf", patch(whole, 32 + firstKeyLen, 99))))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("unknown value type 99");
        // An absurd tensor count cannot make the reader allocate or loop forever.
        byte[] counts = whole.clone();
        ByteBuffer.wrap(counts, 8, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE / 2);
        assertThatThrownBy(() -> GgufFile.open(write("count.gguf", counts)))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("declares");
    }

    @Test
    void unknownTensorTypeIsKeptByNumberSoLoadersCanNameIt() throws IOException {
        Path p = tmp.resolve("t.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addF32Tensor("x", new long[]{32}, new float[32]).write(p);
        byte[] bytes = Files.readAllBytes(p);
        // The tensor's type id sits right after its name and its single dimension.
        int typePos = indexOf(bytes, "x".getBytes()) + 1 + 4 + 8;
        ByteBuffer.wrap(bytes, typePos, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(77);
        try (GgufFile f = GgufFile.open(write("t77.gguf", bytes))) {
            assertThat(f.tensor("x").type()).isNull();
            assertThat(f.tensor("x").typeName()).isEqualTo("unknown type #77");
        }
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] patch(byte[] src, int offset, int value) {
        byte[] out = src.clone();
        ByteBuffer.wrap(out, offset, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(value);
        return out;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        // The tensor name is the last occurrence of its length-prefixed form in the header.
        for (int i = hay.length - needle.length - 8; i >= 8; i--) {
            if (hay[i - 8] == needle.length && Arrays.equals(hay, i, i + needle.length, needle, 0, needle.length)) return i;
        }
        throw new AssertionError("not found");
    }

}
