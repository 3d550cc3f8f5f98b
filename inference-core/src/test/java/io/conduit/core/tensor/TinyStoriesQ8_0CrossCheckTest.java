package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Real data: llama.cpp's Q8_0 GGUF of TinyStories-656K against the F32 safetensors of the same model.
 * Skipped when the shared model files are absent. The GGUF/safetensors readers here are deliberately
 * minimal (just enough to find tensor offsets); they are not the engine's loaders.
 */
class TinyStoriesQ8_0CrossCheckTest {
    static final Path GGUF = Path.of("/work/shared/models/tinystories-656k-gguf/TinyStories-656K-Q8_0.gguf");
    static final Path SAFETENSORS = Path.of("/work/shared/models/tinystories-656k-hf/model.safetensors");
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    record GgufTensor(int type, long elements, long absoluteOffset) {}

    /** Tensors not permuted by llama.cpp's converter (attn_q/attn_k are, so they are left out). */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "token_embd.weight, lm_head.weight",
            "blk.0.ffn_gate.weight, model.layers.0.mlp.gate_proj.weight",
            "blk.0.ffn_up.weight, model.layers.0.mlp.up_proj.weight",
            "blk.0.ffn_down.weight, model.layers.0.mlp.down_proj.weight",
            "blk.1.attn_output.weight, model.layers.1.self_attn.o_proj.weight",
            "blk.1.attn_v.weight, model.layers.1.self_attn.v_proj.weight",
    })
    void q8_0TensorsMatchTheF32Originals(String ggufName, String hfName) throws IOException {
        Assumptions.assumeTrue(Files.isReadable(GGUF) && Files.isReadable(SAFETENSORS), "TinyStories model files not present");
        TensorCodec q8 = TensorCodec.of(GgmlType.Q8_0);
        try (Arena arena = Arena.ofConfined();
             FileChannel g = FileChannel.open(GGUF);
             FileChannel s = FileChannel.open(SAFETENSORS)) {
            MemorySegment gguf = g.map(FileChannel.MapMode.READ_ONLY, 0, g.size(), arena);
            MemorySegment st = s.map(FileChannel.MapMode.READ_ONLY, 0, s.size(), arena);
            GgufTensor t = readGguf(gguf).get(ggufName);
            assertThat(t).as(ggufName).isNotNull();
            assertThat(t.type()).isEqualTo(GgmlType.Q8_0.id());
            int n = Math.toIntExact(t.elements());
            float[] f32 = readSafetensor(st, hfName, n);

            // 1. Our reference quantizer reproduces llama.cpp's bytes exactly.
            MemorySegment ours = arena.allocate(GgmlType.Q8_0.byteSize(n));
            q8.quantize(f32, 0, n, ours, 0);
            MemorySegment theirs = gguf.asSlice(t.absoluteOffset(), ours.byteSize());
            assertThat(ours.mismatch(theirs)).as("first differing byte").isEqualTo(-1L);

            // 2. Dequantizing the file's blocks stays within half a step of the originals, plus the effect of
            //    d being stored as fp16 (relative error <= 2^-11, times |q| <= 127: under 0.07 d).
            float[] deq = new float[n];
            q8.dequantize(gguf, t.absoluteOffset(), deq, 0, n);
            for (int b = 0; b < n / 32; b++) {
                float d = Float.float16ToFloat(gguf.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                        t.absoluteOffset() + 34L * b));
                for (int j = 0; j < 32; j++) {
                    int i = 32 * b + j;
                    assertThat(deq[i]).as("element %d", i).isCloseTo(f32[i], within(Math.abs(d) * 0.57f));
                }
            }

            // 3. Row dot products from the mapped file agree with the F32 weights (first dimension = row length 128 or 384).
            int row = n % 384 == 0 && ggufName.contains("ffn_down") ? 384 : 128;
            float[] x = CodecTestSupport.gaussian(new Random(5), row, 1f);
            for (int r = 0; r < n / row; r += 7) {
                double exact = 0, abs = 0;
                for (int i = 0; i < row; i++) {
                    exact += (double) f32[r * row + i] * x[i];
                    abs += Math.abs((double) f32[r * row + i] * x[i]);
                }
                float fast = q8.dot(gguf, t.absoluteOffset() + GgmlType.Q8_0.byteSize((long) r * row), x, 0, row);
                assertThat((double) fast).as("row %d", r).isCloseTo(exact, within(0.01 * abs + 1e-6));
            }
        }
    }

    private static float[] readSafetensor(MemorySegment st, String name, int n) throws IOException {
        long headerLen = st.get(LE_LONG, 0);
        byte[] header = st.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode entry = new ObjectMapper().readTree(header).get(name);
        assertThat(entry).as(name).isNotNull();
        assertThat(entry.get("dtype").asText()).isEqualTo("F32");
        long begin = 8 + headerLen + entry.get("data_offsets").get(0).asLong();
        assertThat(entry.get("data_offsets").get(1).asLong() - entry.get("data_offsets").get(0).asLong()).isEqualTo(4L * n);
        float[] out = new float[n];
        MemorySegment.copy(st, LE_FLOAT, begin, out, 0, n);
        return out;
    }

    /** Minimal GGUF v2/v3 walk: skips metadata values, reads tensor infos, applies general.alignment (default 32). */
    private static Map<String, GgufTensor> readGguf(MemorySegment m) {
        assertThat(m.get(LE_INT, 0)).as("magic").isEqualTo(0x46554747); // "GGUF"
        long[] pos = {8};
        long tensorCount = m.get(LE_LONG, pos[0]);
        long kvCount = m.get(LE_LONG, pos[0] + 8);
        pos[0] += 16;
        long alignment = 32;
        for (long i = 0; i < kvCount; i++) {
            String key = readString(m, pos);
            int type = m.get(LE_INT, pos[0]);
            pos[0] += 4;
            if (key.equals("general.alignment")) alignment = m.get(LE_INT, pos[0]) & 0xFFFFFFFFL;
            skipValue(m, pos, type);
        }
        Map<String, long[]> infos = new HashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = readString(m, pos);
            int dims = m.get(LE_INT, pos[0]);
            pos[0] += 4;
            long elements = 1;
            for (int d = 0; d < dims; d++) {
                elements *= m.get(LE_LONG, pos[0]);
                pos[0] += 8;
            }
            int type = m.get(LE_INT, pos[0]);
            long offset = m.get(LE_LONG, pos[0] + 4);
            pos[0] += 12;
            infos.put(name, new long[] {type, elements, offset});
        }
        long dataStart = (pos[0] + alignment - 1) / alignment * alignment;
        Map<String, GgufTensor> out = new HashMap<>();
        infos.forEach((k, v) -> out.put(k, new GgufTensor((int) v[0], v[1], dataStart + v[2])));
        return out;
    }

    private static String readString(MemorySegment m, long[] pos) {
        long len = m.get(LE_LONG, pos[0]);
        String s = new String(m.asSlice(pos[0] + 8, len).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        pos[0] += 8 + len;
        return s;
    }

    private static void skipValue(MemorySegment m, long[] pos, int type) {
        switch (type) {
            case 0, 1, 7 -> pos[0] += 1;            // u8, i8, bool
            case 2, 3 -> pos[0] += 2;               // u16, i16
            case 4, 5, 6 -> pos[0] += 4;            // u32, i32, f32
            case 10, 11, 12 -> pos[0] += 8;         // u64, i64, f64
            case 8 -> readString(m, pos);
            case 9 -> {
                int elemType = m.get(LE_INT, pos[0]);
                long count = m.get(LE_LONG, pos[0] + 4);
                pos[0] += 12;
                for (long i = 0; i < count; i++) skipValue(m, pos, elemType);
            }
            default -> throw new IllegalStateException("unknown GGUF value type " + type);
        }
    }
}
