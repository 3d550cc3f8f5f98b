package io.conduit.core.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;

/**
 * Full KV blocks kept for reuse, keyed by a chained hash of (parent block, the block's tokens, adapter
 * digest, namespace). A hit is confirmed by comparing the stored tokens, namespace, digest and parent hash,
 * so a hash collision can never hand one prompt's KV to another. Blocks nobody references wait in LRU order
 * to be evicted when the pool runs dry.
 */
final class PrefixCache {
    private record Entry(long hash, long parentHash, int[] tokens, String namespace, String adapterDigest) {
        boolean matches(long parent, int[] blockTokens, String ns, String digest) {
            return parentHash == parent && Arrays.equals(tokens, blockTokens)
                    && namespace.equals(ns) && Objects.equals(adapterDigest, digest);
        }
    }

    private final Map<Long, Integer> blockByHash = new HashMap<>();
    private final Entry[] entries;
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();

    PrefixCache(int blocks) {
        this.entries = new Entry[blocks];
    }

    /** The cached block holding exactly these tokens after {@code parentHash}, or -1. */
    int lookup(long hash, long parentHash, int[] tokens, String namespace, String adapterDigest) {
        Integer id = blockByHash.get(hash);
        if (id == null) return -1;
        return entries[id].matches(parentHash, tokens, namespace, adapterDigest) ? id : -1;
    }

    /** Makes {@code block} findable under {@code hash}; false if another block already holds that content. */
    boolean register(int block, long hash, long parentHash, int[] tokens, String namespace, String adapterDigest) {
        if (entries[block] != null || blockByHash.containsKey(hash)) return false;
        entries[block] = new Entry(hash, parentHash, tokens, namespace, adapterDigest);
        blockByHash.put(hash, block);
        return true;
    }

    boolean isCached(int block) {
        return entries[block] != null;
    }

    /** The block is referenced again: it may not be evicted. */
    void pin(int block) {
        evictable.remove(block);
    }

    /** Nobody references the block any more: it becomes the most recently used eviction candidate. */
    void unpin(int block) {
        evictable.add(block);
    }

    /** Forgets the least recently used unreferenced block and returns its id, or -1 if there is none. */
    int evictOne() {
        var it = evictable.iterator();
        if (!it.hasNext()) return -1;
        int block = it.next();
        it.remove();
        blockByHash.remove(entries[block].hash());
        entries[block] = null;
        return block;
    }

    int cachedBlocks() {
        return blockByHash.size();
    }

    int evictableBlocks() {
        return evictable.size();
    }
}
