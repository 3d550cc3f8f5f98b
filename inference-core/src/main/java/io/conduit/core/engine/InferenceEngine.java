package io.conduit.core.engine;

import io.conduit.core.model.LoadedModel;

/**
 * Serves generation requests for one loaded base model. {@link #submit} never blocks on generation:
 * results arrive through the listener from the engine's own thread(s).
 */
public interface InferenceEngine extends AutoCloseable {

    /**
     * Queues a request.
     *
     * @throws EngineOverloadedException when the waiting queue is full
     * @throws PromptTooLongException    when the prompt leaves no room in the context window
     * @throws IllegalArgumentException  for an empty prompt or token ids outside the vocabulary
     */
    RequestHandle submit(EngineRequest request, GenerationListener listener);

    EngineStats stats();

    LoadedModel model();

    /** Stops the engine; requests still queued or running get {@code onError}. */
    @Override
    void close();
}
