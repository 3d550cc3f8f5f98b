package io.conduit.core.engine;

/** The prompt does not leave room for even one generated token in the model's context window. */
public class PromptTooLongException extends IllegalArgumentException {
    public PromptTooLongException(int promptTokens, int contextLength) {
        super("prompt has " + promptTokens + " tokens but the model's context window is " + contextLength
                + " tokens (at most " + (contextLength - 1) + " prompt tokens leave room to generate)");
    }
}
