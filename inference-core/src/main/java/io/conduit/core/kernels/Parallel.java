package io.conduit.core.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits loops over the cores. One pool for all kernels, sized to the machine, so two models never
 * oversubscribe it; small loops run inline because splitting costs more than they do.
 *
 * <p>The workers spin briefly (default 200 µs, {@code -Dconduit.spinMicros}) before parking, as OpenMP
 * runtimes do: a batch-1 decode step is a few hundred parallel loops of tens of microseconds each, and waking
 * a parked thread per loop (a futex round trip, plus the fork-join pool's own hand-offs) cost more than the
 * loops themselves. The calling thread takes chunks too. Each thread works through a contiguous range of chunks
 * and then takes what is left of the others' (see {@link Job}), so a thread slowed by a neighbour on a shared
 * machine does not hold the others up.
 */
public final class Parallel {
    private static final int THREADS = Math.max(1,
            Integer.getInteger("conduit.threads", Runtime.getRuntime().availableProcessors()));
    private static final long SPIN_NANOS = Long.getLong("conduit.spinMicros", 200) * 1000;
    private static final int CHUNKS_PER_THREAD = Integer.getInteger("conduit.chunksPerThread", 4);
    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final Worker[] WORKERS = new Worker[THREADS - 1];
    private static volatile Job current;

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker(i);
            WORKERS[i].start();
        }
    }

    /** A loop body over the index range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private Parallel() {
    }

    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code grain} indices, in parallel when worth it.
     * Nested calls (from inside a body) run inline; calls from several outside threads take turns.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        run(n, Math.min(THREADS * CHUNKS_PER_THREAD, Math.max(1, n / Math.max(1, grain))), body);
    }

    /**
     * As {@link #forRange} with one chunk per index: for a few heavy items (a batched matmul's tiles, tens of
     * microseconds each), where chunks of several items left one thread a whole chunk behind the other at the end.
     */
    public static void forEach(int n, RangeBody body) {
        run(n, Math.max(1, n), body);
    }

    private static void run(int n, int chunks, RangeBody body) {
        if (chunks <= 1 || THREADS == 1 || Thread.currentThread() instanceof Worker || LOCK.isHeldByCurrentThread()) {
            if (n > 0) body.run(0, n);
            return;
        }
        LOCK.lock();
        try {
            Job job = new Job(body, n, chunks);
            current = job;
            for (Worker w : WORKERS) {
                if (w.sleeping) LockSupport.unpark(w);
            }
            job.work(0);
            while (job.pending.get() > 0) Thread.onSpinWait();
            current = null;
            if (job.failure != null) {
                if (job.failure instanceof RuntimeException e) throw e;
                if (job.failure instanceof Error e) throw e;
                throw new IllegalStateException(job.failure);
            }
        } finally {
            LOCK.unlock();
        }
    }

    /**
     * One loop split into chunks, the chunks split into one contiguous range per thread. Each thread takes the
     * chunks of its own range in order, so its part of a weight matrix is one sequential stream for the hardware
     * prefetchers; a thread whose range is done takes chunks from the far end of another's, so a thread slowed by
     * a neighbour still holds no one up. (Against chunks handed out round-robin this alone measured within noise;
     * with one chunk per thread, as batch-1 matmuls ask for, a thread that has not started its chunk when the
     * others finish still has it taken from it.)
     */
    private static final class Job {
        final RangeBody body;
        final int n;
        final int size;
        /** Per range: (next chunk << 32) | end chunk, claimed by CAS from the front (owner) or the back (thieves). */
        final AtomicLongArray ranges;
        final AtomicInteger pending;
        volatile Throwable failure;

        Job(RangeBody body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.size = (n + chunks - 1) / chunks;
            this.pending = new AtomicInteger(chunks);
            this.ranges = new AtomicLongArray(THREADS);
            for (int r = 0; r < THREADS; r++) {
                long lo = (long) chunks * r / THREADS, hi = (long) chunks * (r + 1) / THREADS;
                ranges.set(r, lo << 32 | hi);
            }
        }

        /** Work as thread {@code self} (0 = the caller) until no chunk is left anywhere. */
        void work(int self) {
            int c;
            while ((c = claimFront(self)) >= 0) run(c);
            for (int i = 1; i < THREADS; i++) {
                int victim = (self + i) % THREADS;
                while ((c = claimBack(victim)) >= 0) run(c);
            }
        }

        private int claimFront(int r) {
            while (true) {
                long v = ranges.get(r);
                int lo = (int) (v >>> 32), hi = (int) v;
                if (lo >= hi) return -1;
                if (ranges.compareAndSet(r, v, (long) (lo + 1) << 32 | hi)) return lo;
            }
        }

        private int claimBack(int r) {
            while (true) {
                long v = ranges.get(r);
                int lo = (int) (v >>> 32), hi = (int) v;
                if (lo >= hi) return -1;
                if (ranges.compareAndSet(r, v, (long) lo << 32 | (hi - 1))) return hi - 1;
            }
        }

        private void run(int c) {
            int from = c * size;
            int to = Math.min(n, from + size);
            try {
                if (from < to) body.run(from, to);
            } catch (Throwable t) {
                failure = t;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    private static final class Worker extends Thread {
        volatile boolean sleeping;
        /** This worker's range in every job (0 is the calling thread's). */
        final int self;

        Worker(int i) {
            super("conduit-kernel-" + i);
            this.self = i + 1;
            setDaemon(true);
        }

        @Override
        public void run() {
            Job last = null;
            while (true) {
                long idleSince = System.nanoTime();
                Job j;
                while ((j = current) == null || j == last) {
                    if (System.nanoTime() - idleSince < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        sleeping = true;
                        Job again = current;
                        if (again == null || again == last) LockSupport.park(this);
                        sleeping = false;
                        idleSince = System.nanoTime();
                    }
                }
                last = j;
                j.work(self);
            }
        }
    }
}
