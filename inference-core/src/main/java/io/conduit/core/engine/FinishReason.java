package io.conduit.core.engine;

import java.util.Locale;

/** Why generation ended, named as in the OpenAI API. */
public enum FinishReason {
    /** A stop token or stop string was produced. */
    STOP,
    /** max_tokens was reached, or the context is full. */
    LENGTH,
    /** The caller cancelled (e.g. the client disconnected); usage so far is still reported. */
    CANCELLED;

    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
