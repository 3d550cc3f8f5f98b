package io.conduit.core.scheduler;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Waiting sequences, admitted by weighted fair share of tokens between tenants (start-time fair queuing):
 * each tenant has a virtual time that grows by tokens served / weight, and the next admission goes to the
 * waiting tenant furthest behind. A tenant that was idle re-enters at the current minimum, so it cannot
 * bank credit and then starve others with a burst. Within a tenant, first come first served.
 */
public final class FairQueue {
    private final Map<String, Deque<Sequence>> waiting = new HashMap<>();
    private final Map<String, Double> virtualTime = new HashMap<>();
    private int size;
    /** Virtual time of the most recent admission: where a tenant returning from idle re-enters. */
    private double systemTime;

    public void add(Sequence s) {
        Deque<Sequence> q = waiting.computeIfAbsent(s.tenant(), t -> new ArrayDeque<>());
        if (q.isEmpty()) catchUp(s.tenant());
        q.addLast(s);
        size++;
    }

    /** Puts a preempted sequence back at the head of its tenant's queue. */
    public void addFirst(Sequence s) {
        Deque<Sequence> q = waiting.computeIfAbsent(s.tenant(), t -> new ArrayDeque<>());
        if (q.isEmpty()) catchUp(s.tenant());
        q.addFirst(s);
        size++;
    }

    /** The sequence to admit next, without removing it; null when empty. */
    public Sequence peek() {
        Sequence best = null;
        double bestTime = Double.MAX_VALUE;
        for (Map.Entry<String, Deque<Sequence>> e : waiting.entrySet()) {
            Sequence head = e.getValue().peekFirst();
            if (head == null) continue;
            double vt = virtualTime.getOrDefault(e.getKey(), 0.0);
            if (vt < bestTime || (vt == bestTime && head.order < best.order)) {
                best = head;
                bestTime = vt;
            }
        }
        return best;
    }

    /** Removes a sequence that leaves without being admitted. */
    public void remove(Sequence s) {
        Deque<Sequence> q = waiting.get(s.tenant());
        if (q != null && q.remove(s)) size--;
    }

    /** Removes an admitted sequence and advances the system's virtual time to its tenant's. */
    public void admit(Sequence s) {
        Deque<Sequence> q = waiting.get(s.tenant());
        if (q != null && q.remove(s)) size--;
        systemTime = Math.max(systemTime, virtualTime(s.tenant()));
    }

    /** Removes and returns every waiting sequence matching {@code test} (cancelled, past deadline). */
    public java.util.List<Sequence> removeIf(Predicate<Sequence> test) {
        java.util.List<Sequence> out = new java.util.ArrayList<>();
        for (Deque<Sequence> q : waiting.values()) {
            for (Iterator<Sequence> it = q.iterator(); it.hasNext(); ) {
                Sequence s = it.next();
                if (test.test(s)) {
                    it.remove();
                    size--;
                    out.add(s);
                }
            }
        }
        return out;
    }

    /** Charges {@code tokens} of work to the tenant, scaled by its weight. */
    public void charge(String tenant, int tokens, double weight) {
        virtualTime.merge(tenant, tokens / weight, Double::sum);
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public double virtualTime(String tenant) {
        return virtualTime.getOrDefault(tenant, 0.0);
    }

    private void catchUp(String tenant) {
        virtualTime.merge(tenant, systemTime, Math::max);
    }
}
