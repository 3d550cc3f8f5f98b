package io.conduit.core.chat;

/**
 * A chat template that cannot be parsed or rendered. For {@code raise_exception(msg)} called by the
 * template the message is exactly {@code msg} (what the model author wrote, e.g. "Conversation roles must
 * alternate user/assistant/user/assistant/...").
 */
public class ChatTemplateException extends IllegalArgumentException {
    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
