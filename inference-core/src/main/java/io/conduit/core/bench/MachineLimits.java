package io.conduit.core.bench;

import io.conduit.core.kernels.Parallel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two roofs the kernels are measured against, measured with the same pool and vector width they use:
 * read bandwidth from memory (every thread streams its share of a buffer far larger than the caches) and
 * float FMA peak (independent FMA chains on registers only).
 */
public record MachineLimits(double bandwidthGbs, double fmaPeakGflops, int threads, int vectorBits) {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** Measures both; {@code bufferBytes} should be several times the last-level cache (256 MiB is plenty). */
    public static MachineLimits measure(long bufferBytes) {
        return new MachineLimits(bandwidthGbs(bufferBytes, 5), fmaPeakGflops(5), Parallel.threads(), F.vectorBitSize());
    }

    /** The better of two measurements of each limit. */
    public MachineLimits best(MachineLimits o) {
        return new MachineLimits(Math.max(bandwidthGbs, o.bandwidthGbs), Math.max(fmaPeakGflops, o.fmaPeakGflops),
                threads, vectorBits);
    }

    /** Best of {@code reps} passes of a parallel vector read over a buffer of {@code bytes} ({@link BandwidthProbe}). */
    public static double bandwidthGbs(long bytes, int reps) {
        try (BandwidthProbe probe = new BandwidthProbe(bytes)) {
            double best = 0;
            for (int r = 0; r < reps; r++) best = Math.max(best, probe.passGbs());
            return best;
        }
    }

    /** Best of {@code reps}: every pool thread runs 12 independent FMA chains; GFLOP/s counting an FMA as 2. */
    public static double fmaPeakGflops(int reps) {
        int threads = Parallel.threads();
        long iters = 20_000_000L;
        double best = 0;
        float[] sink = new float[1];
        for (int w = 0; w < 300; w++) sink[0] += fmaLoop(10_000); // get C2 to compile it before timing
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            Parallel.forRange(threads, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    float s = fmaLoop(iters);
                    synchronized (sink) {
                        sink[0] += s;
                    }
                }
            });
            long dt = System.nanoTime() - t0;
            best = Math.max(best, 2.0 * 12 * F.length() * iters * threads / dt);
        }
        if (sink[0] == 42) System.out.print("");
        return best;
    }

    private static float fmaLoop(long iters) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f);
        FloatVector c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(c), a2 = a1.add(c), a3 = a2.add(c);
        FloatVector a4 = a3.add(c), a5 = a4.add(c), a6 = a5.add(c), a7 = a6.add(c);
        FloatVector a8 = a7.add(c), a9 = a8.add(c), a10 = a9.add(c), a11 = a10.add(c);
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
