package io.conduit.core.tokenizer;

/** GGUF {@code tokenizer.ggml.token_type} values (llama.cpp {@code llama_token_type}). */
final class TokenType {
    static final int UNDEFINED = 0;
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    private TokenType() {}
}
