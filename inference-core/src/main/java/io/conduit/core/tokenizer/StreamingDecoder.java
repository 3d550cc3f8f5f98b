package io.conduit.core.tokenizer;

/**
 * Incremental detokenizer for generation. {@link #feed(int)} returns only text that is final: bytes of
 * a UTF-8 character split across byte tokens are held back until the character is complete. The
 * concatenation of all {@code feed} results plus {@link #flush()} equals the full
 * {@link Tokenizer#decode(int[], boolean)} of the same ids. Not thread-safe.
 */
public interface StreamingDecoder {

    /** Adds one token and returns the newly completed text (possibly empty, never null). */
    String feed(int id);

    /**
     * Returns held-back bytes (an incomplete UTF-8 sequence) as U+FFFD replacement text and resets the hold.
     * Call at the end of generation. (Default method so the interface stays functional for test fakes.)
     */
    default String flush() {
        return "";
    }
}
