package io.conduit.core.bench;

import io.conduit.core.kernels.MatMul;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.synthetic.SyntheticModelWriter;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The projection kernel alone ({@link MatMul#matmul}), on random matrices of a model shape's projection sizes, at
 * several batch sizes: the number a kernel change moves first, without attention, norms or the engine around it.
 * Each case reports microseconds per call, GFLOP/s and its fraction of the measured FMA peak, and the weight bytes
 * streamed per second (the batch-1 figure to hold against the bandwidth roof; note a matrix may fit in the last
 * level cache, unlike a whole model).
 */
public final class MatMulBench {
    /** One projection: rows (outputs) x cols (inputs), and the name of the matrices of that size. */
    public record Projection(String name, int rows, int cols) {
    }

    /**
     * Batch sizes to run, the time budget per (matrix, batch) case, and {@code coldBytes}: when positive, the calls rotate
     * over copies of the matrix filling that many bytes, so that (past the L3) each call reads its weights from DRAM as
     * a decode step does; 0 times one matrix, warm in cache after the first call.
     */
    public record Options(int[] batches, double seconds, long coldBytes) {
        public Options(int[] batches, double seconds) {
            this(batches, seconds, 0);
        }
    }

    private MatMulBench() {
    }

    /** The distinct projection sizes of a Llama-family layer of this shape. */
    public static List<Projection> projections(ModelShape s) {
        int q = s.heads() * s.headDim(), kv = s.kvHeads() * s.headDim();
        return List.of(new Projection("wq_wo", q, s.dim()), new Projection("wk_wv", kv, s.dim()),
                new Projection("gate_up", s.ffnDim(), s.dim()), new Projection("down", s.dim(), s.ffnDim()));
    }

    public static void run(ModelShape shape, GgmlType type, Options o, MachineLimits limits,
                           Consumer<Map<String, Object>> sink) {
        for (Projection p : projections(shape)) {
            try (Arena arena = Arena.ofShared()) { // shared: the kernel pool's threads read it
                long seed = 31L * p.rows() + p.cols();
                WeightMatrix first = randomMatrix(arena, type, p.rows(), p.cols(), seed);
                WeightMatrix[] ws = new WeightMatrix[(int) Math.max(1, o.coldBytes() / first.byteSize())];
                ws[0] = first;
                for (int i = 1; i < ws.length; i++) ws[i] = randomMatrix(arena, type, p.rows(), p.cols(), seed + i);
                for (int batch : o.batches()) {
                    sink.accept(measure(shape, p, ws, batch, o.seconds(), limits));
                }
            }
        }
    }

    static Map<String, Object> measure(ModelShape shape, Projection p, WeightMatrix[] ws, int batch, double seconds,
                                       MachineLimits limits) {
        WeightMatrix w = ws[0];
        int next = 0; // the copy the next call uses
        SplittableRandom rnd = new SplittableRandom(batch);
        float[] x = new float[batch * w.cols()];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextDouble(-1, 1);
        float[] out = new float[batch * w.rows()];
        // One call per copy first: each builds its lane copy at first use, which must not land in a timed slice.
        for (WeightMatrix c : ws) MatMul.matmul(c, x, batch, out);
        long budget = (long) (seconds * 1e9);
        // Warm up until half the budget has passed with no JIT compilation finishing and no window of calls 10% faster
        // than the one before (C2 has compiled the kernels), then the best of five timed slices sized from the last
        // window. A warm-up of fixed length was not enough on two cores: C2's threads share them with the kernel
        // pool, and the first case of a quant was timed at milliseconds per call, still interpreted.
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        double perCallNs = Double.MAX_VALUE;
        long t0 = System.nanoTime(), quietSince = t0, jitSeen = jit.getTotalCompilationTime();
        while (System.nanoTime() - quietSince < budget / 2 && System.nanoTime() - t0 < 20 * budget) {
            long w0 = System.nanoTime();
            int calls = 0;
            for (; System.nanoTime() - w0 < budget / 20 || calls < 3; calls++) {
                MatMul.matmul(ws[next++ % ws.length], x, batch, out);
            }
            double window = (System.nanoTime() - w0) / (double) calls;
            long jitNow = jit.getTotalCompilationTime();
            if (window < 0.9 * perCallNs || jitNow != jitSeen) quietSince = System.nanoTime();
            perCallNs = window;
            jitSeen = jitNow;
        }
        int perSlice = (int) Math.max(1, budget * 0.7 / 5 / perCallNs);
        long best = Long.MAX_VALUE, bestCpu = Long.MAX_VALUE;
        var cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int slice = 0; slice < 5; slice++) {
            long s = System.nanoTime(), c = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < perSlice; i++) MatMul.matmul(ws[next++ % ws.length], x, batch, out);
            best = Math.min(best, (System.nanoTime() - s) / perSlice);
            bestCpu = Math.min(bestCpu, (cpu.getCurrentThreadCpuTime() - c) / perSlice);
        }
        double flops = 2.0 * w.rows() * w.cols() * batch;
        double gflops = flops / best;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("suite", "matmul");
        r.put("shape", shape.name());
        r.put("quant", w.type().name().toLowerCase(java.util.Locale.ROOT));
        r.put("matrix", p.name());
        r.put("rows", w.rows());
        r.put("cols", w.cols());
        r.put("batch", batch);
        r.put("weights", ws.length > 1 ? "cold" : "warm");
        r.put("copies", ws.length);
        r.put("threads", limits.threads());
        r.put("us_per_call", DecodeBench.round(best / 1e3));
        r.put("gflops", DecodeBench.round(gflops));
        r.put("fma_peak_gflops", DecodeBench.round(limits.fmaPeakGflops()));
        r.put("fma_fraction", DecodeBench.round4(gflops / limits.fmaPeakGflops()));
        r.put("weight_gbs", DecodeBench.round(w.byteSize() / (double) best));
        r.put("bandwidth_gbs", DecodeBench.round(limits.bandwidthGbs()));
        // The calling thread's CPU time per call. With one kernel thread (-Dconduit.threads=1) that is the
        // kernel's own time, which a busy neighbour barely moves: the number to compare kernel changes by on a
        // shared machine (a descheduled thread stops its CPU clock, not its wall clock).
        if (io.conduit.core.kernels.Parallel.threads() == 1 && bestCpu > 0) r.put("cpu_gflops", DecodeBench.round(flops / bestCpu));
        return r;
    }

    /** A rows x cols matrix of the type, written as the synthetic models' matrices are. */
    static WeightMatrix randomMatrix(Arena arena, GgmlType type, int rows, int cols, long seed) {
        MemorySegment seg = arena.allocate(rows * type.byteSize(cols), 64);
        SyntheticModelWriter.randomMatrix(seg, type, rows, cols, 0.05, seed);
        return WeightMatrix.of(type.name().toLowerCase(java.util.Locale.ROOT), seg, 0, type, rows, cols);
    }
}
