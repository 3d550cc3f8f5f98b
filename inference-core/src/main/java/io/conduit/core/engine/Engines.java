package io.conduit.core.engine;

import io.conduit.core.model.LoadedModel;

/**
 * Creates the engine that serves a loaded model: the continuous-batching engine. Callers depend on
 * {@link InferenceEngine} only, so another engine can take its place here.
 */
public final class Engines {
    private Engines() {
    }

    public static InferenceEngine start(LoadedModel model, EngineOptions options) {
        return new BatchingEngine(model, options);
    }
}
