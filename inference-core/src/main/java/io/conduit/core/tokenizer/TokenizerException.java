package io.conduit.core.tokenizer;

/** Missing, corrupt or unsupported tokenizer data, or an invalid token id. */
public class TokenizerException extends IllegalArgumentException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
