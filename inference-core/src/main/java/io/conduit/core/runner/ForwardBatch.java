package io.conduit.core.runner;

import io.conduit.core.kv.BlockTable;

/**
 * The work of one forward step: the tokens of several sequences, flattened. A sequence contributes one
 * token when decoding or a chunk of its prompt when prefilling; each token carries its own position and
 * the sequence's block table, so sequences at different lengths share one pass.
 *
 * @param tokens     token ids, grouped by sequence, in position order within a sequence
 * @param positions  position of each token in its sequence
 * @param sequence   index into {@code tables} of each token's sequence
 * @param tables     block table of each sequence (must already have room for every position)
 * @param logitsFor  indices into {@code tokens} whose next-token logits are wanted (usually each sequence's last)
 */
public record ForwardBatch(int[] tokens, int[] positions, int[] sequence, BlockTable[] tables, int[] logitsFor) {

    public ForwardBatch {
        if (tokens.length != positions.length || tokens.length != sequence.length) {
            throw new IllegalArgumentException("tokens, positions and sequence must have the same length");
        }
    }

    public int size() { return tokens.length; }

    /** A single sequence processing {@code tokens} starting at {@code startPos}, wanting logits of the last one. */
    public static ForwardBatch single(int[] tokens, int startPos, BlockTable table) {
        int n = tokens.length;
        int[] positions = new int[n];
        for (int i = 0; i < n; i++) positions[i] = startPos + i;
        return new ForwardBatch(tokens, positions, new int[n], new BlockTable[]{table}, new int[]{n - 1});
    }
}
