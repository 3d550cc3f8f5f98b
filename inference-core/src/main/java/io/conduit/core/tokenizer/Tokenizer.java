package io.conduit.core.tokenizer;

import java.util.Set;

/**
 * Text to token ids and back, behaving like the reference implementation the vocabulary came from
 * (llama.cpp for GGUF vocabularies, Hugging Face {@code tokenizers} for {@code tokenizer.json}).
 * Instances are immutable and thread-safe; {@link StreamingDecoder}s are not.
 *
 * @see Tokenizers
 */
public interface Tokenizer {

    /**
     * Encodes text.
     *
     * @param addBos       prepend the BOS token (ignored when the vocabulary has none)
     * @param parseSpecial recognise the texts of special/control tokens (e.g. {@code <|im_start|>}) in
     *                     {@code text} and emit their ids; when false such texts are tokenized as plain text.
     *                     Non-special added / user-defined tokens are always recognised, as in the references.
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    default int[] encode(String text) {
        return encode(text, false, false);
    }

    /** Decodes ids; special tokens render as their text. Same as {@code decode(ids, false)}. */
    default String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * Decodes ids. Byte tokens are reassembled into UTF-8 (invalid sequences become U+FFFD). For
     * SentencePiece-style GGUF vocabularies the leading space of the token right after BOS is dropped
     * (the space {@code add_space_prefix} added on encode); without a BOS in {@code ids} the text is the
     * plain concatenation of the pieces, which is what a generated continuation needs.
     *
     * @throws TokenizerException for an id outside {@code [0, vocabSize())}
     */
    String decode(int[] ids, boolean skipSpecialTokens);

    /** A new incremental decoder whose concatenated output equals {@link #decode(int[], boolean)}. */
    StreamingDecoder streamingDecoder(boolean skipSpecialTokens);

    int vocabSize();

    /** BOS id or -1 if none. */
    int bosId();

    /** EOS id or -1 if none. */
    int eosId();

    /** Ids that end generation: EOS plus end-of-turn / end-of-message tokens when known. */
    Set<Integer> stopTokenIds();

    /** Whether the model expects BOS at the start of a prompt (add_bos_token). */
    boolean addBosByDefault();

    /** Raw vocabulary text of a token (e.g. {@code "▁Once"}, {@code "<0x0A>"}, {@code "Ġthe"}). */
    String tokenText(int id);

    /** True for control / special tokens (BOS, EOS, unknown, chat markers). */
    boolean isSpecial(int id);

    /** Id of a token by its raw vocabulary text, or null. */
    Integer idOf(String tokenText);

    /** The chat template shipped with the tokenizer (GGUF tokenizer.chat_template or tokenizer_config.json), or null. */
    default String chatTemplate() {
        return null;
    }
}
