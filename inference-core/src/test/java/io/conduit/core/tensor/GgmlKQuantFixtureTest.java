package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Q4_K and Q6_K against bytes and floats produced by ggml's reference C code (see ggml-kquants/README.md). */
class GgmlKQuantFixtureTest {

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = GgmlKQuantFixtureTest.class.getResourceAsStream("ggml-kquants/" + name)) {
            assertThat(in).as(name).isNotNull();
            return in.readAllBytes();
        }
    }

    private static float[] floats(byte[] bytes) {
        float[] out = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"Q4_K, q4_K", "Q6_K, q6_K"})
    void quantizeReproducesGgmlBytes(GgmlType type, String file) throws IOException {
        float[] input = floats(resource("input-8x256.f32"));
        byte[] expected = resource(file + ".bin");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ours = arena.allocate(type.byteSize(input.length));
            TensorCodec.of(type).quantize(input, 0, input.length, ours, 0);
            byte[] actual = ours.toArray(ValueLayout.JAVA_BYTE);
            for (int i = 0; i < expected.length; i++) {
                int block = i / type.typeSize();
                assertThat(actual[i]).as("super-block %d, byte %d", block, i % type.typeSize()).isEqualTo(expected[i]);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"Q4_K, q4_K", "Q6_K, q6_K"})
    void dequantizeReproducesGgmlFloats(GgmlType type, String file) throws IOException {
        byte[] blocks = resource(file + ".bin");
        float[] expected = floats(resource(file + ".dequantized.f32"));
        float[] actual = new float[expected.length];
        TensorCodec.of(type).dequantize(MemorySegment.ofArray(blocks), 0, actual, 0, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.floatToRawIntBits(actual[i])).as("element %d: %s vs ggml %s", i, actual[i], expected[i])
                    .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
    }
}
