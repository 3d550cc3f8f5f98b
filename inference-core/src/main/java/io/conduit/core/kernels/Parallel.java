package io.conduit.core.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits loops over the cores. One pool for all kernels, sized to the machine, so two models never
 * oversubscribe it; small loops run inline because splitting costs more than they do.
 *
 * <p>The workers spin briefly (default 200 µs, {@code -Dconduit.spinMicros}) before parking, as OpenMP
 * runtimes do: a batch-1 decode step is a few hundred parallel loops of tens of microseconds each, and waking
 * a parked thread per loop (a futex round trip, plus the fork-join pool's own hand-offs) cost more than the
 * loops themselves. The calling thread takes chunks too. Chunks are handed out dynamically, so a thread
 * slowed by a neighbour on a shared machine does not hold the others up.
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
        int chunks = Math.min(THREADS * CHUNKS_PER_THREAD, Math.max(1, n / Math.max(1, grain)));
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
            job.work();
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

    private static final class Job {
        final RangeBody body;
        final int n;
        final int chunks;
        final int size;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger pending;
        volatile Throwable failure;

        Job(RangeBody body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.size = (n + chunks - 1) / chunks;
            this.pending = new AtomicInteger(chunks);
        }

        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
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
    }

    private static final class Worker extends Thread {
        volatile boolean sleeping;

        Worker(int i) {
            super("conduit-kernel-" + i);
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
                j.work();
            }
        }
    }
}
