package io.conduit.core.sampling;

import java.util.Arrays;

/**
 * The token ids of one sequence: the prompt followed by the generated tokens, with the per-token bookkeeping the
 * penalties need, updated in O(1) amortized per {@link #append(int)}:
 * <ul>
 *   <li>whether a token occurred in prompt or output (repetition penalty, vLLM: prompt + generated),</li>
 *   <li>how often a token was generated (presence / frequency penalties, OpenAI: generated tokens only),</li>
 *   <li>the distinct ids of both, so penalties cost O(distinct tokens), not O(vocab).</li>
 * </ul>
 * Not thread-safe: one per sequence, used by the thread that drives that sequence.
 */
public final class TokenHistory {
    private int[] tokens;
    private int size;
    private final int promptLength;

    /** Indexed by token id, grown on demand. */
    private int[] generatedCounts = new int[0];
    /** Indexed by token id: 1 = occurred in prompt or output. */
    private boolean[] seen = new boolean[0];
    private int[] seenDistinct = new int[16];
    private int seenDistinctCount;
    private int[] generatedDistinct = new int[16];
    private int generatedDistinctCount;

    /** @param promptIds the prompt's token ids (copied); ids must be non-negative */
    public TokenHistory(int[] promptIds) {
        int[] prompt = promptIds == null ? new int[0] : promptIds;
        tokens = Arrays.copyOf(prompt, Math.max(16, prompt.length + 16));
        size = prompt.length;
        promptLength = prompt.length;
        int maxId = -1;
        for (int id : prompt) {
            checkId(id);
            maxId = Math.max(maxId, id);
        }
        ensureIdCapacity(maxId);
        for (int id : prompt) {
            markSeen(id);
        }
    }

    /** Records a generated token. */
    public void append(int tokenId) {
        checkId(tokenId);
        ensureIdCapacity(tokenId);
        if (size == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[size++] = tokenId;
        markSeen(tokenId);
        if (generatedCounts[tokenId]++ == 0) {
            if (generatedDistinctCount == generatedDistinct.length) {
                generatedDistinct = Arrays.copyOf(generatedDistinct, generatedDistinct.length * 2);
            }
            generatedDistinct[generatedDistinctCount++] = tokenId;
        }
    }

    /** Number of prompt tokens. */
    public int promptLength() {
        return promptLength;
    }

    /** Number of generated tokens (appended after construction). */
    public int generatedCount() {
        return size - promptLength;
    }

    /** Prompt plus generated tokens. */
    public int size() {
        return size;
    }

    /** The token at {@code index} of the whole sequence (prompt first). */
    public int tokenAt(int index) {
        return tokens[java.util.Objects.checkIndex(index, size)];
    }

    /** A copy of the generated token ids, oldest first. */
    public int[] generatedIds() {
        return Arrays.copyOfRange(tokens, promptLength, size);
    }

    /** How many times {@code tokenId} was generated (prompt not counted). */
    public int generatedOccurrences(int tokenId) {
        return tokenId >= 0 && tokenId < generatedCounts.length ? generatedCounts[tokenId] : 0;
    }

    /** Whether {@code tokenId} occurs in the prompt or the generated tokens. */
    public boolean contains(int tokenId) {
        return tokenId >= 0 && tokenId < seen.length && seen[tokenId];
    }

    int seenDistinctCount() {
        return seenDistinctCount;
    }

    int seenDistinct(int i) {
        return seenDistinct[i];
    }

    int generatedDistinctCount() {
        return generatedDistinctCount;
    }

    int generatedDistinct(int i) {
        return generatedDistinct[i];
    }

    private void markSeen(int id) {
        if (!seen[id]) {
            seen[id] = true;
            if (seenDistinctCount == seenDistinct.length) {
                seenDistinct = Arrays.copyOf(seenDistinct, seenDistinct.length * 2);
            }
            seenDistinct[seenDistinctCount++] = id;
        }
    }

    private void ensureIdCapacity(int id) {
        if (id >= seen.length) {
            int n = Math.max(id + 1, Math.max(1024, seen.length * 2));
            seen = Arrays.copyOf(seen, n);
            generatedCounts = Arrays.copyOf(generatedCounts, n);
        }
    }

    private static void checkId(int id) {
        if (id < 0) {
            throw new IllegalArgumentException("token id must be non-negative: " + id);
        }
    }
}
