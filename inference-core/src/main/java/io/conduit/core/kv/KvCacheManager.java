package io.conduit.core.kv;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Hands out KV blocks to sequences and shares full blocks between them through the prefix cache.
 * Every block is in exactly one state: free in the pool, referenced by one or more sequences, or cached
 * with no references (evictable). Not thread-safe: used by the engine loop only.
 */
public final class KvCacheManager {
    private final KvCache cache;
    private final BlockPool pool;
    private final int blockSize;
    private final int[] refCount;
    private final PrefixCache prefixCache;
    private final boolean prefixCaching;

    public KvCacheManager(KvCache cache, boolean prefixCaching) {
        this.cache = cache;
        this.pool = cache.pool();
        this.blockSize = cache.blockSize();
        this.refCount = new int[pool.capacity()];
        this.prefixCache = new PrefixCache(pool.capacity());
        this.prefixCaching = prefixCaching;
    }

    public KvCache cache() { return cache; }

    public BlockTable newTable() { return cache.newTable(); }

    /**
     * Attaches the longest run of cached full blocks that begins {@code tokens} to an empty table and
     * returns how many tokens they cover. At least one token is always left to compute, since the last
     * prompt token's logits are needed.
     */
    public int attachCachedPrefix(BlockTable table, int[] tokens, String namespace, String adapterDigest) {
        if (!prefixCaching || table.blockCount() != 0) return 0;
        int usableBlocks = (tokens.length - 1) / blockSize;
        long parent = seed(namespace, adapterDigest);
        for (int b = 0; b < usableBlocks; b++) {
            int[] blockTokens = Arrays.copyOfRange(tokens, b * blockSize, (b + 1) * blockSize);
            long hash = chain(parent, blockTokens);
            int block = prefixCache.lookup(hash, parent, blockTokens, namespace, adapterDigest);
            if (block < 0) break;
            if (refCount[block]++ == 0) prefixCache.pin(block);
            table.add(block);
            table.pushHash(hash);
            parent = hash;
        }
        return table.blockCount() * blockSize;
    }

    /** Makes room for {@code tokens} positions, evicting unreferenced cached blocks if needed; false if impossible. */
    public boolean ensureCapacity(BlockTable table, int tokens) {
        int needed = table.blocksFor(tokens) - table.blockCount();
        if (needed <= 0) return true;
        if (needed > pool.freeCount() + prefixCache.evictableBlocks()) return false;
        for (int i = 0; i < needed; i++) {
            int block = pool.allocate();
            if (block < 0) {
                block = prefixCache.evictOne(); // stays owned: moves straight from the cache to this table
            }
            refCount[block] = 1;
            table.add(block);
        }
        return true;
    }

    /** Registers each block that is now full of computed tokens, so later requests can reuse it. */
    public void registerFullBlocks(BlockTable table, int[] tokens, int computedTokens, String namespace, String adapterDigest) {
        if (!prefixCaching) return;
        int full = Math.min(computedTokens / blockSize, table.blockCount());
        for (int b = table.hashedBlocks(); b < full; b++) {
            long parent = b == 0 ? seed(namespace, adapterDigest) : table.hash(b - 1);
            int[] blockTokens = Arrays.copyOfRange(tokens, b * blockSize, (b + 1) * blockSize);
            long hash = chain(parent, blockTokens);
            prefixCache.register(table.block(b), hash, parent, blockTokens, namespace, adapterDigest);
            table.pushHash(hash);
        }
    }

    /** Drops the table's references; unreferenced blocks return to the pool or wait in the cache. */
    public void release(BlockTable table) {
        for (int i = table.blockCount() - 1; i >= 0; i--) {
            int block = table.block(i);
            if (--refCount[block] > 0) continue;
            if (prefixCache.isCached(block)) {
                prefixCache.unpin(block);
            } else {
                pool.release(block);
            }
        }
        table.clear();
    }

    /** Blocks referenced by at least one sequence. */
    public int usedBlocks() {
        return pool.capacity() - pool.freeCount() - prefixCache.evictableBlocks();
    }

    /** Unreferenced blocks kept for prefix reuse. */
    public int cachedFreeBlocks() {
        return prefixCache.evictableBlocks();
    }

    public int totalBlocks() {
        return pool.capacity();
    }

    /** Blocks a new sequence could take right now. */
    public int availableBlocks() {
        return pool.freeCount() + prefixCache.evictableBlocks();
    }

    /** True when no sequence holds a block: every block is free or merely cached. */
    public boolean whole() {
        return usedBlocks() == 0;
    }

    /** Empties the prefix cache, returning its blocks to the pool. */
    public void clearCache() {
        int block;
        while ((block = prefixCache.evictOne()) >= 0) pool.release(block);
    }

    /** The chain's start: different namespaces or adapters never share a hash chain. */
    private static long seed(String namespace, String adapterDigest) {
        long h = 0x9E3779B97F4A7C15L;
        for (byte b : (namespace + '\u0000' + (adapterDigest == null ? "" : adapterDigest)).getBytes(StandardCharsets.UTF_8)) {
            h = mix(h ^ b);
        }
        return h;
    }

    private static long chain(long parent, int[] tokens) {
        long h = mix(parent);
        for (int t : tokens) h = mix(h ^ t);
        return h;
    }

    /** SplitMix64's finaliser: a fast, well-distributed 64-bit mix. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
