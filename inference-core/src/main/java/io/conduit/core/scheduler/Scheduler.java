package io.conduit.core.scheduler;

import io.conduit.core.kv.KvCacheManager;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Decides what each engine step computes, under a token budget: first every running sequence's next
 * token (or next prefill chunk), then newly admitted sequences by fair share, their prompts chunked to fit.
 * When KV blocks run out, the most recently admitted sequence is preempted: its blocks are released (full
 * ones stay in the prefix cache) and it is recomputed later, rather than failing anyone.
 */
public final class Scheduler {
    /** One sequence's share of a step: its next {@code tokens} uncomputed tokens. */
    public record Scheduled(Sequence sequence, int tokens) {
    }

    private final KvCacheManager kv;
    private final int maxBatchTokens;
    private final int maxRunning;
    private final List<Sequence> running = new ArrayList<>();
    private final FairQueue waiting = new FairQueue();
    private long preemptions;

    public Scheduler(KvCacheManager kv, int maxBatchTokens, int maxRunning) {
        this.kv = kv;
        this.maxBatchTokens = maxBatchTokens;
        this.maxRunning = maxRunning;
    }

    public void add(Sequence s) {
        waiting.add(s);
    }

    public List<Scheduled> schedule() {
        List<Scheduled> out = new ArrayList<>();
        int budget = maxBatchTokens;
        for (Sequence s : new ArrayList<>(running)) {
            if (budget == 0) break;
            if (!running.contains(s)) continue; // preempted to make room for an older sequence
            int n = Math.min(s.pendingTokens(), budget);
            if (n == 0) continue;
            if (!makeRoom(s, s.computed + n)) continue;
            out.add(new Scheduled(s, n));
            budget -= n;
        }
        while (budget > 0 && running.size() < maxRunning) {
            Sequence s = waiting.peek();
            if (s == null) break;
            if (s.table.blockCount() == 0) {
                int cached = kv.attachCachedPrefix(s.table, s.tokens(), s.request.effectiveNamespace(), s.request.adapterDigest());
                s.computed = cached;
                if (s.firstScheduledNanos == 0) s.cachedPromptTokens = Math.min(cached, s.request.promptIds().length);
            }
            int n = Math.min(s.pendingTokens(), budget);
            if (!kv.ensureCapacity(s.table, s.computed + n)) {
                kv.release(s.table); // not enough memory yet: wait for running sequences to finish
                s.computed = 0;
                break;
            }
            if (s.firstScheduledNanos == 0) s.firstScheduledNanos = System.nanoTime();
            waiting.admit(s);
            running.add(s);
            out.add(new Scheduled(s, n));
            budget -= n;
        }
        return out;
    }

    /** Gets {@code s} room for {@code tokens} positions, preempting newer sequences; false if {@code s} itself was. */
    private boolean makeRoom(Sequence s, int tokens) {
        while (!kv.ensureCapacity(s.table, tokens)) {
            Sequence victim = running.getLast();
            preempt(victim);
            if (victim == s) return false;
        }
        return true;
    }

    private void preempt(Sequence s) {
        kv.registerFullBlocks(s.table, s.tokens(), s.computed, s.request.effectiveNamespace(), s.request.adapterDigest());
        kv.release(s.table);
        s.computed = 0;
        s.preemptions++;
        preemptions++;
        running.remove(s);
        waiting.addFirst(s);
    }

    /** Records that a step computed {@code tokens} more tokens of {@code s}. */
    public void computed(Sequence s, int tokens) {
        int before = s.computed / kv.cache().blockSize();
        s.computed += tokens;
        if (s.computed / kv.cache().blockSize() > before) {
            kv.registerFullBlocks(s.table, s.tokens(), s.computed, s.request.effectiveNamespace(), s.request.adapterDigest());
        }
        waiting.charge(s.tenant(), tokens, s.request.tenantWeight());
    }

    /** Removes a finished, failed or cancelled sequence and releases its blocks. */
    public void finish(Sequence s) {
        running.remove(s);
        waiting.remove(s);
        kv.release(s.table);
    }

    /** Removes waiting sequences matching {@code test}, releasing anything they hold. */
    public List<Sequence> removeWaiting(Predicate<Sequence> test) {
        List<Sequence> removed = waiting.removeIf(test);
        for (Sequence s : removed) kv.release(s.table);
        return removed;
    }

    public List<Sequence> running() {
        return running;
    }

    public int waitingCount() {
        return waiting.size();
    }

    public long preemptions() {
        return preemptions;
    }

    public boolean idle() {
        return running.isEmpty() && waiting.isEmpty();
    }
}
