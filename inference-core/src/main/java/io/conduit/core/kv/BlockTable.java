package io.conduit.core.kv;

import java.util.Arrays;

/**
 * One sequence's map from token positions to KV-cache slots: position p lives in block
 * {@code blocks[p / blockSize]} at offset {@code p % blockSize}. No sequence owns contiguous memory.
 * The table also remembers the prefix-cache chain hash of each full block it has registered.
 */
public final class BlockTable {
    private final int blockSize;
    private int[] blocks = new int[4];
    private long[] hashes = new long[4];
    private int count;
    private int hashed;

    public BlockTable(int blockSize) {
        this.blockSize = blockSize;
    }

    /** Makes room for {@code tokens} positions, taking blocks from {@code pool}; false (unchanged) if it runs out. */
    public boolean ensureCapacity(int tokens, BlockPool pool) {
        int needed = blocksFor(tokens);
        int start = count;
        while (count < needed) {
            int id = pool.allocate();
            if (id < 0) {
                while (count > start) pool.release(blocks[--count]);
                return false;
            }
            add(id);
        }
        return true;
    }

    /** Appends a block the caller has taken. */
    public void add(int blockId) {
        if (count == blocks.length) {
            blocks = Arrays.copyOf(blocks, count * 2);
            hashes = Arrays.copyOf(hashes, count * 2);
        }
        blocks[count++] = blockId;
    }

    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** The cache slot of position {@code pos}. */
    public int slot(int pos) {
        return blocks[pos / blockSize] * blockSize + pos % blockSize;
    }

    public int block(int index) { return blocks[index]; }

    /** Positions the table can hold without new blocks. */
    public int capacityTokens() { return count * blockSize; }

    public int blockCount() { return count; }

    public int blockSize() { return blockSize; }

    /** Full blocks whose chain hash is known (registered in or taken from the prefix cache). */
    public int hashedBlocks() { return hashed; }

    public long hash(int index) { return hashes[index]; }

    /** Records the chain hash of the next full block. */
    public void pushHash(long hash) {
        hashes[hashed++] = hash;
    }

    /** Returns every block to the pool (for tables that never use the prefix cache). */
    public void release(BlockPool pool) {
        while (count > 0) pool.release(blocks[--count]);
        hashed = 0;
    }

    /** Forgets all blocks without releasing them (the caller has released them its own way). */
    public void clear() {
        count = 0;
        hashed = 0;
    }
}
