package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TensorCodecFactoryTest {
    private static final Set<GgmlType> WITH_CODEC = EnumSet.of(
            GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K);

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void everyTypeEitherHasItsCodecOrIsRejectedByName(GgmlType type) {
        if (WITH_CODEC.contains(type)) {
            assertThat(TensorCodec.of(type).type()).isEqualTo(type);
            assertThat(type.supported()).as("GgmlType.supported() agrees").isTrue();
        } else {
            assertThatThrownBy(() -> TensorCodec.of(type))
                    .isInstanceOf(UnsupportedTensorTypeException.class)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(type.name())
                    .satisfies(e -> assertThat(((UnsupportedTensorTypeException) e).type()).isEqualTo(type));
            assertThat(type.supported()).as("GgmlType.supported() agrees").isFalse();
        }
    }

    @Test
    void nullTypeIsRejected() {
        assertThatThrownBy(() -> TensorCodec.of(null)).isInstanceOf(UnsupportedTensorTypeException.class);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void partialBlocksAreRejected(GgmlType type) {
        TensorCodec codec = TensorCodec.of(type);
        try (Arena arena = Arena.ofConfined()) {
            var seg = arena.allocate(1024);
            int n = type.blockSize() + 1;
            assertThatThrownBy(() -> codec.dequantize(seg, 0, new float[n], 0, n))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(type.name());
            assertThatThrownBy(() -> codec.dot(seg, 0, new float[n], 0, n)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> codec.quantize(new float[n], 0, n, seg, 0)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
