package io.conduit.core.kernels;

import io.conduit.core.kv.KvCache;
import io.conduit.core.model.Architecture;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.model.RopeConfig;
import io.conduit.core.model.RopeLayout;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.LaneRows;
import io.conduit.core.tensor.WeightMatrix;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.management.ManagementFactory;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Once C2 has compiled them, the lane kernels (and attention's reads of the KV cache) allocate nothing per call beyond a lambda and an index array: every
 * vector stays in a register. A kernel in which C2 cannot intrinsify one Vector API operation (in session 9 the
 * 16-lane nibble lookups moved behind a shared helper whose call had no receiver type at parse time) boxes its
 * vectors instead, allocating on every step of its loop, and on a Zen 5 ran 5x slower; its outputs were still
 * right, so only this catches it. Each case is small enough (one super-group or one tile) for {@link Parallel} to run
 * it on the calling thread, whose allocations are counted.
 */
class LaneKernelAllocationTest {
    /** Bytes per call allowed: the loop body's lambda and the tile index array, with room to spare. */
    private static final double ALLOWED_BYTES_PER_CALL = 512;
    /** Room for one boxed 16-lane vector (and its array) per output of the file-layout paths (see there). */
    private static final double BYTES_PER_OUTPUT_SUM = 192;
    /** Boxed vectors run at C1 speed for many thousands of calls; a healthy kernel compiles within seconds. */
    private static final long GIVE_UP_NANOS = TimeUnit.SECONDS.toNanos(30);

    static Stream<Arguments> cases() {
        // Row counts in lane groups (L rows each): 8 are a whole super-group at batch 1 (8 chains), 4 its first half
        // (4 chains) and, below batch 32, one batched tile; 2 one pair tile from batch 32. Batches 16, 12 and 5 take
        // the 8-, 12- and 4-token register tiles (4-, 5- and 4-token ones with AVX2's 16 registers).
        Stream<Object[]> types = Stream.of(new Object[]{GgmlType.Q8_0, false, 96}, new Object[]{GgmlType.Q4_0, false, 96},
                new Object[]{GgmlType.Q4_0, true, 96}, new Object[]{GgmlType.Q4_K, true, 256},
                new Object[]{GgmlType.Q6_K, false, 256});
        return types.flatMap(t -> Stream.of(new int[]{8, 1}, new int[]{4, 1}, new int[]{4, 16}, new int[]{4, 12},
                new int[]{4, 5}, new int[]{2, 32}).map(gb -> Arguments.of(t[0], t[1], t[2], gb[0], gb[1])));
    }

    @ParameterizedTest(name = "{0} nibbles={1} {3} lane groups batch {4}")
    @MethodSource("cases")
    void compiledKernelsKeepVectorsInRegisters(GgmlType type, boolean nibbles, int cols, int laneGroups, int batch) {
        int rows = laneGroups * Dequant.L;
        WeightMatrix w = MatMulTest.random(type, rows, cols, 13L * rows + batch);
        LaneRows p = LaneRows.pack(w, Dequant.L, nibbles);
        Assumptions.assumeTrue(LaneMatMul.runs(p), "no lane kernel for this copy on this machine");
        assertThat(rows).as("one work item per call").isLessThanOrEqualTo(batch < 4 ? p.width() : LaneMatMul.tileRows(batch));
        float[] x = MatMulTest.gaussian(new Random(rows + batch), batch * cols);
        LaneRows[] ps = {p};
        float[][] outs = {new float[batch * rows]};
        assertThat(bytesPerCallOnceCompiled(() -> LaneMatMul.matmul(ps, x, batch, outs)))
                .as("bytes allocated per call once compiled (%s, %d lanes)", type, Dequant.L)
                .isLessThanOrEqualTo(ALLOWED_BYTES_PER_CALL);
    }

    /**
     * Q4_0 nibbles times int8 activations ({@link NibbleInt16MatMul}): a whole super-group and its first half at batch
     * 1, a super-group token by token at batch 5, and one half-super-group tile over the 8-, 4- and 1-token blocks
     * (batches 16, 20 and 17; 4 and 1 with 16 registers). With its conversions behind helpers C2 compiled this kernel
     * with boxed vectors (session 12).
     */
    @ParameterizedTest(name = "{0} lane groups batch {1}")
    @MethodSource("int16Cases")
    void compiledInt16KernelsKeepVectorsInRegisters(int laneGroups, int batch) {
        int rows = laneGroups * Dequant.L, cols = 96;
        WeightMatrix w = MatMulTest.random(GgmlType.Q4_0, rows, cols, 29L * rows + batch);
        LaneRows p = LaneRows.pack(w, Dequant.L, LaneRows.Q4Kernel.INT16);
        Assumptions.assumeTrue(LaneMatMul.runs(p), "no lane kernel for this copy on this machine");
        assertThat(p.quantizedActivations()).isTrue();
        float[] x = MatMulTest.gaussian(new Random(rows + batch), batch * cols);
        LaneRows[] ps = {p};
        float[][] outs = {new float[batch * rows]};
        assertThat(bytesPerCallOnceCompiled(() -> LaneMatMul.matmul(ps, x, batch, outs)))
                .as("bytes allocated per call once compiled (%d lanes)", Dequant.L)
                .isLessThanOrEqualTo(ALLOWED_BYTES_PER_CALL);
    }

    static Stream<Arguments> int16Cases() {
        return Stream.of(new int[]{8, 1}, new int[]{4, 1}, new int[]{8, 5}, new int[]{4, 16}, new int[]{4, 20}, new int[]{4, 17})
                .map(gb -> Arguments.of(gb[0], gb[1]));
    }

    /**
     * The paths without a lane copy: float types always, quantized types when their copy does not fit the heap (here
     * forced with {@link MatMul#laneCopies}). Eight rows make one work item at batch 1 (the file-layout decoders) and
     * batched (the 4x4 and 8x3 dot-product tiles). These end each output in a horizontal sum of one vector, and in
     * some JIT states (after the lane tests, or for Q4_0 at batch 1-3) that vector is boxed once per output, ~100
     * bytes; allowed here, as it costs little against a row of hundreds of elements. What must not happen is a box
     * per step of the loop over a row: at 256 columns, ~16 per output.
     */
    @ParameterizedTest(name = "{0} batch {1}")
    @MethodSource("fileLayoutCases")
    void compiledFileLayoutKernelsBoxNothingInTheirLoops(GgmlType type, int batch) {
        int rows = 8, cols = 256;
        WeightMatrix[] ws = {MatMulTest.random(type, rows, cols, 17L * batch)};
        float[] x = MatMulTest.gaussian(new Random(batch), batch * cols);
        float[][] outs = {new float[batch * rows]};
        MatMul.laneCopies = false;
        try {
            double allowed = ALLOWED_BYTES_PER_CALL + BYTES_PER_OUTPUT_SUM * rows * batch;
            assertThat(bytesPerCallOnceCompiled(() -> MatMul.matmul(ws, x, batch, outs), allowed))
                    .as("bytes allocated per call once compiled (%s, %d lanes)", type, Dequant.L)
                    .isLessThanOrEqualTo(allowed);
        } finally {
            MatMul.laneCopies = true;
        }
    }

    static Stream<Arguments> fileLayoutCases() {
        return Stream.of(MatMulTest.TYPES).flatMap(t -> Stream.of(1, 3, 4, 16, 32).map(b -> Arguments.of(t, b)));
    }

    /**
     * Scores of three query heads per KV head (a pair, then one alone) and their weighted values, over 1.5 blocks, from
     * the float32 cache and from the int8 one.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void compiledAttentionReadsKeepVectorsInRegisters(boolean int8) {
        int hd = 64, heads = 6, kvHeads = 2, group = 3, blockSize = 16;
        ModelConfig c = new ModelConfig(Architecture.LLAMA, heads * hd, 1, heads, kvHeads, hd, 64, 100, 4096, 1e-5f,
                RopeConfig.plain(10000, hd, RopeLayout.HALF_SPLIT), false, false, 0);
        KvCache kv = new KvCache(c, 2, blockSize, int8);
        Random rnd = new Random(3);
        for (int slot = 0; slot < 2 * blockSize; slot++) {
            kv.store(0, slot, MatMulTest.gaussian(rnd, kvHeads * hd), 0, MatMulTest.gaussian(rnd, kvHeads * hd), 0);
        }
        float[] q = MatMulTest.gaussian(rnd, heads * hd), out = new float[heads * hd];
        int stride = 2 * blockSize;
        float[] scores = new float[group * stride];
        Runnable attention = () -> {
            for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
                for (int block = 0; block < 2; block++) {
                    int o1 = block == 0 ? blockSize : blockSize / 2;
                    kv.keyScores(0, block, 0, o1, kvHead * hd, q, kvHead * group * hd, group, hd, scores, block * blockSize, stride);
                    kv.addValues(0, block, 0, o1, kvHead * hd, scores, block * blockSize, stride, group, out, kvHead * group * hd, hd);
                }
            }
        };
        assertThat(bytesPerCallOnceCompiled(attention)).as("bytes allocated per call once compiled")
                .isLessThanOrEqualTo(ALLOWED_BYTES_PER_CALL);
    }

    private static double bytesPerCallOnceCompiled(Runnable call) {
        return bytesPerCallOnceCompiled(call, ALLOWED_BYTES_PER_CALL);
    }

    /** Runs {@code call} until it allocates at most {@code allowed} bytes per call (or gives up): the last measurement. */
    private static double bytesPerCallOnceCompiled(Runnable call, double allowed) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        double perCall = Double.MAX_VALUE;
        for (long start = System.nanoTime(); System.nanoTime() - start < GIVE_UP_NANOS; ) {
            for (int i = 0; i < 500; i++) call.run();
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 100; i++) call.run();
            perCall = (threads.getCurrentThreadAllocatedBytes() - before) / 100.0;
            if (perCall <= allowed) break;
        }
        return perCall;
    }
}
