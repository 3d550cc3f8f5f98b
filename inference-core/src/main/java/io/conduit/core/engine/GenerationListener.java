package io.conduit.core.engine;

import io.conduit.core.sampling.SampledToken;

/**
 * Receives one request's progress from an engine thread. Exactly one of {@link #onComplete} or
 * {@link #onError} is called, once, last. Implementations must return quickly and never block: they run on
 * the engine loop (hand the data to Reactor's sink or a queue).
 */
public interface GenerationListener {
    /** A generated token and the text that became final with it (may be empty). */
    void onToken(SampledToken token, String textDelta);

    /** The request finished (stop, length or cancelled); the result carries the usage to meter. */
    void onComplete(GenerationResult result);

    /** The request failed before completing: overloaded, deadline passed, invalid input, engine fault. */
    void onError(Throwable error);
}
