package io.conduit.core.bench;

import io.conduit.core.kernels.Parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Read bandwidth from memory, one pass at a time: every thread of the kernels' pool ({@link Parallel}) streams its
 * share of a buffer far larger than the caches with the preferred vector width. The buffer is allocated (through
 * {@link HugePages}, as the heap the kernels read) and touched once, so a pass can be taken between two decode
 * steps: on a shared machine the bandwidth a neighbour leaves free changes from minute to minute, and a step is
 * best compared with the bandwidth measured right next to it. {@link MachineLimits#bandwidthGbs} is the best of
 * a few passes of one of these.
 */
public final class BandwidthProbe implements AutoCloseable {
    /** 8x a 32 MiB last-level cache: a pass cannot be served from the cache. */
    public static final long DEFAULT_BYTES = 256L << 20;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final long CHUNK = 1 << 20;

    private final Arena arena;
    private final MemorySegment seg;
    private final long bytes;
    private final int chunks;
    private final double[] sink = new double[1];

    /** Allocates and touches {@code bytes} (rounded down to whole MiB, at least one) and warms the read loop up. */
    public BandwidthProbe(long bytes) {
        this.bytes = Math.max(CHUNK, bytes / CHUNK * CHUNK);
        this.chunks = (int) (this.bytes / CHUNK);
        this.arena = Arena.ofShared();
        try {
            this.seg = HugePages.allocate(arena, this.bytes);
            // touched by the pool's threads, as the passes will read it
            Parallel.forRange(chunks, 1, (from, to) -> {
                for (int c = from; c < to; c++) seg.asSlice((long) c * CHUNK, CHUNK).fill((byte) (c + 1));
            });
            for (int w = 0; w < 50; w++) sink[0] += read(seg, 0, Math.min(this.bytes, 1 << 16)); // warm up the JIT
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The buffer's size in bytes. */
    public long bytes() {
        return bytes;
    }

    /** One parallel read of the whole buffer, in GB/s (10^9 bytes per second). */
    public double passGbs() {
        long t0 = System.nanoTime();
        Parallel.forRange(chunks, 1, (from, to) -> {
            float s = read(seg, (long) from * CHUNK, (long) to * CHUNK);
            synchronized (sink) {
                sink[0] += s;
            }
        });
        long dt = System.nanoTime() - t0;
        if (sink[0] == 42) System.out.print(""); // keep the sums alive
        return bytes / (double) Math.max(1, dt);
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Sums {@code [from, to)} as floats with four independent accumulators (loads, not arithmetic, bound it). */
    private static float read(MemorySegment seg, long from, long to) {
        int step = F.vectorByteSize();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (long o = from; o + 4L * step <= to; o += 4L * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, seg, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, seg, o + 2L * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, seg, o + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }
}
