package io.conduit.core.engine;

/** A submitted request. Cancelling frees its KV blocks at the engine's next step. */
public interface RequestHandle {
    String requestId();

    /** Stops the request; the listener then gets {@code onComplete} with {@link FinishReason#CANCELLED}. */
    void cancel();
}
