package io.conduit.core.kv;

import java.util.BitSet;

/**
 * The free list of KV-cache blocks. Every block is either free or owned; freeing a block twice is a bug
 * and fails loudly, so leaks and double frees show up in tests as a pool that is not whole.
 */
public final class BlockPool {
    private final int capacity;
    private final int[] free;
    private int freeCount;
    private final BitSet owned;

    public BlockPool(int capacity) {
        if (capacity <= 0) throw new IllegalArgumentException("block pool needs at least one block");
        this.capacity = capacity;
        this.free = new int[capacity];
        for (int i = 0; i < capacity; i++) free[i] = capacity - 1 - i; // hand out low ids first
        this.freeCount = capacity;
        this.owned = new BitSet(capacity);
    }

    /** A free block id, or -1 when none is left. */
    public synchronized int allocate() {
        if (freeCount == 0) return -1;
        int id = free[--freeCount];
        owned.set(id);
        return id;
    }

    public synchronized void release(int id) {
        if (id < 0 || id >= capacity || !owned.get(id)) {
            throw new IllegalStateException("block " + id + " is not allocated");
        }
        owned.clear(id);
        free[freeCount++] = id;
    }

    public synchronized int freeCount() { return freeCount; }

    public int capacity() { return capacity; }

    /** True when every block is back in the pool. */
    public synchronized boolean whole() { return freeCount == capacity; }
}
