package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnceIncludingNestedAndConcurrentCallers() throws Exception {
        Thread[] callers = new Thread[3];
        AtomicIntegerArray[] hits = new AtomicIntegerArray[callers.length];
        for (int c = 0; c < callers.length; c++) {
            AtomicIntegerArray h = hits[c] = new AtomicIntegerArray(1001);
            callers[c] = new Thread(() -> {
                for (int rep = 0; rep < 200; rep++) {
                    Parallel.forRange(1001, 3, (from, to) -> {
                        for (int i = from; i < to; i++) h.incrementAndGet(i);
                        Parallel.forRange(10, 1, (a, b) -> { }); // nested: inline
                    });
                }
            });
            callers[c].start();
        }
        for (Thread t : callers) t.join();
        for (AtomicIntegerArray h : hits) {
            for (int i = 0; i < h.length(); i++) assertThat(h.get(i)).isEqualTo(200);
        }
    }

    @Test
    void forEachHandsOutOneIndexPerChunk() {
        for (int n : new int[]{0, 1, 2, 9, 15, 200}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(1, n));
            AtomicBoolean wider = new AtomicBoolean();
            Parallel.forEach(n, (from, to) -> {
                if (to - from != 1 && Parallel.threads() > 1 && n > 1) wider.set(true);
                for (int i = from; i < to; i++) hits.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertThat(hits.get(i)).as("index %d of %d", i, n).isEqualTo(1);
            assertThat(wider).as("a chunk of more than one index, n = %d", n).isFalse();
        }
    }

    @Test
    void aThreadStuckInItsRangeLeavesTheRestToTheOthers() throws Exception {
        Assumptions.assumeTrue(Parallel.threads() >= 2, "needs a worker thread");
        Thread caller = Thread.currentThread();
        for (int rep = 0; rep < 50; rep++) {
            int n = 4 * Parallel.threads();
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            CountDownLatch othersDone = new CountDownLatch(n - 1);
            AtomicBoolean stuck = new AtomicBoolean();
            AtomicBoolean othersFinishedMeanwhile = new AtomicBoolean(true);
            Parallel.forRange(n, 1, (from, to) -> {
                for (int i = from; i < to; i++) hits.incrementAndGet(i);
                if (Thread.currentThread() != caller && stuck.compareAndSet(false, true)) {
                    // The first chunk a worker takes blocks until every other chunk is done: only possible if
                    // the caller takes the rest of this worker's range too.
                    try {
                        othersFinishedMeanwhile.set(othersDone.await(20, TimeUnit.SECONDS));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                } else {
                    othersDone.countDown();
                }
            });
            assertThat(othersFinishedMeanwhile.get()).isTrue();
            for (int i = 0; i < n; i++) assertThat(hits.get(i)).isEqualTo(1);
        }
    }

    @Test
    void exceptionsReachTheCaller() {
        assertThatThrownBy(() -> Parallel.forRange(100, 1, (from, to) -> {
            if (from == 0) throw new IllegalStateException("boom");
        })).hasMessage("boom");
        int[] sum = new int[1];
        Parallel.forRange(1, 1, (from, to) -> sum[0] += to - from);
        assertThat(sum[0]).isEqualTo(1);
    }
}
