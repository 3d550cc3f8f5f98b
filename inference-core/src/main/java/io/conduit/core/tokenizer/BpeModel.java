package io.conduit.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Rank-based BPE over one pre-tokenized word, as Hugging Face {@code tokenizers}' BPE model (and
 * llama.cpp's {@code llm_tokenizer_bpe}): the word starts as one symbol per character; the adjacent pair
 * with the lowest merge rank is merged (ties: leftmost) until no pair has a merge.
 */
final class BpeModel {

    private final Map<String, Integer> vocab;
    private final Map<Long, long[]> merges = new HashMap<>(); // (left,right) -> {rank, newId}
    private final int unkId;
    private final boolean byteFallback;
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    private final int[] byteTokens = new int[256];

    /**
     * @param strictMerges throw when a merge refers to a token missing from the vocabulary (HF does);
     *                     otherwise such merges are ignored
     */
    BpeModel(Map<String, Integer> vocab, List<String[]> mergePairs, int unkId, boolean byteFallback,
             boolean fuseUnk, boolean ignoreMerges, boolean strictMerges) {
        this.vocab = vocab;
        this.unkId = unkId;
        this.byteFallback = byteFallback;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        for (int rank = 0; rank < mergePairs.size(); rank++) {
            String[] p = mergePairs.get(rank);
            Integer a = vocab.get(p[0]);
            Integer b = vocab.get(p[1]);
            Integer merged = vocab.get(p[0] + p[1]);
            if (a == null || b == null || merged == null) {
                if (strictMerges) {
                    throw new TokenizerException("merge #" + rank + " '" + p[0] + " " + p[1]
                            + "' refers to a token missing from the vocabulary");
                }
                continue;
            }
            merges.putIfAbsent(key(a, b), new long[]{rank, merged});
        }
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.format("<0x%02X>", b));
            byteTokens[b] = id == null ? -1 : id;
        }
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private record Merge(int pos, long rank, int newId) {}

    void encodeWord(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        int cap = word.getBytes(StandardCharsets.UTF_8).length;
        int[] sym = new int[cap];
        int n = 0;
        boolean lastWasUnk = false;
        for (int off = 0; off < word.length(); ) {
            int cp = word.codePointAt(off);
            String ch = word.substring(off, off + Character.charCount(cp));
            off += ch.length();
            Integer id = vocab.get(ch);
            if (id != null) {
                sym[n++] = id;
                lastWasUnk = false;
                continue;
            }
            if (byteFallback) {
                byte[] bytes = ch.getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) {
                    all &= byteTokens[b & 0xFF] >= 0;
                }
                if (all) {
                    for (byte b : bytes) {
                        sym[n++] = byteTokens[b & 0xFF];
                    }
                    lastWasUnk = false;
                    continue;
                }
            }
            if (unkId >= 0) {
                if (!(fuseUnk && lastWasUnk)) {
                    sym[n++] = unkId;
                }
                lastWasUnk = true;
            }
            // No unknown token: the character is dropped, as HF tokenizers does.
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Merge> queue = new PriorityQueue<>((x, y) -> x.rank() != y.rank()
                ? Long.compare(x.rank(), y.rank()) : Integer.compare(x.pos(), y.pos()));
        for (int i = 0; i + 1 < n; i++) {
            long[] m = merges.get(key(sym[i], sym[i + 1]));
            if (m != null) {
                queue.add(new Merge(i, m[0], (int) m[1]));
            }
        }
        while (!queue.isEmpty()) {
            Merge top = queue.poll();
            int pos = top.pos();
            if (dead[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            long[] m = merges.get(key(sym[pos], sym[right]));
            if (m == null || (int) m[1] != top.newId()) {
                continue; // stale entry
            }
            sym[pos] = top.newId();
            dead[right] = true;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            if (prev[pos] >= 0) {
                long[] pm = merges.get(key(sym[prev[pos]], sym[pos]));
                if (pm != null) {
                    queue.add(new Merge(prev[pos], pm[0], (int) pm[1]));
                }
            }
            if (next[pos] >= 0) {
                long[] nm = merges.get(key(sym[pos], sym[next[pos]]));
                if (nm != null) {
                    queue.add(new Merge(pos, nm[0], (int) nm[1]));
                }
            }
        }
        for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
            out.add(sym[i]);
        }
    }
}
