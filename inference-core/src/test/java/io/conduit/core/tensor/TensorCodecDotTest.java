package io.conduit.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The Vector API dot must agree with the scalar reference for every type, size and (unaligned) offset. */
class TensorCodecDotTest {

    /** Relative to sum |w_i * x_i|: float accumulation in the fast path against a double-accumulated reference. */
    static final double REL_TOL = 1e-5;

    static Stream<Arguments> cases() {
        int[] blockCounts = {1, 3, 7, 33};
        return Stream.of(CodecTestSupport.SUPPORTED).flatMap(t -> {
            // Plain float types: blockSize 1, so also odd lengths that exercise the scalar tails.
            int[] counts = t.quantized() ? blockCounts : new int[] {1, 3, 7, 33, 256 * 3 + 5, 4099};
            return java.util.Arrays.stream(counts).mapToObj(c -> Arguments.of(t, c));
        });
    }

    @ParameterizedTest(name = "{0} x {1} blocks")
    @MethodSource("cases")
    void fastDotMatchesReference(GgmlType type, int blocks) {
        TensorCodec codec = TensorCodec.of(type);
        int n = blocks * type.blockSize();
        Random rnd = new Random(31L * type.id() + blocks);
        long off = 3; // deliberately not aligned to anything
        int xOff = 5;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = CodecTestSupport.randomTensor(arena, rnd, type, n, off, 7);
            float[] x = CodecTestSupport.gaussian(rnd, xOff + n + 3, 1f);

            float[] deq = new float[n];
            codec.dequantize(w, off, deq, 0, n);
            double absSum = 0;
            double exact = 0;
            for (int i = 0; i < n; i++) {
                absSum += Math.abs((double) deq[i] * x[xOff + i]);
                exact += (double) deq[i] * x[xOff + i];
            }
            double tol = REL_TOL * absSum;

            float ref = codec.dotReference(w, off, x, xOff, n);
            float fast = codec.dot(w, off, x, xOff, n);
            // The reference is the definition: the sum of dequantized weights times x.
            assertThat((double) ref).as("dotReference vs dequantize").isCloseTo(exact, within(tol));
            assertThat((double) fast).as("dot vs dotReference").isCloseTo(ref, within(tol));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void zeroLengthDotIsZero(GgmlType type) {
        TensorCodec codec = TensorCodec.of(type);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(1);
            assertThat(codec.dot(w, 0, new float[0], 0, 0)).isEqualTo(0f);
            assertThat(codec.dotReference(w, 0, new float[0], 0, 0)).isEqualTo(0f);
        }
    }

    /**
     * The other tests mostly run before C2 compiles the kernels, i.e. on the Vector API's Java fallback.
     * Calling dot enough times gets the intrinsified machine code used, which must agree as well.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void fastDotStillMatchesAfterJitCompilation(GgmlType type) {
        TensorCodec codec = TensorCodec.of(type);
        int n = 7 * 256;
        Random rnd = new Random(type.id());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = CodecTestSupport.randomTensor(arena, rnd, type, n, 1, 3);
            float[] x = CodecTestSupport.gaussian(rnd, n, 1f);
            float[] deq = new float[n];
            codec.dequantize(w, 1, deq, 0, n);
            double absSum = 0;
            for (int i = 0; i < n; i++) absSum += Math.abs((double) deq[i] * x[i]);
            float ref = codec.dotReference(w, 1, x, 0, n);
            for (int iter = 0; iter < 20_000; iter++) {
                float fast = codec.dot(w, 1, x, 0, n);
                if (Math.abs(fast - ref) > REL_TOL * absSum) {
                    assertThat((double) fast).as("iteration %d", iter).isCloseTo(ref, within(REL_TOL * absSum));
                }
            }
        }
    }

    static Stream<GgmlType> types() {
        return Stream.of(CodecTestSupport.SUPPORTED);
    }
}
