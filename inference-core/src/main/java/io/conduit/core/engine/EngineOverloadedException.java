package io.conduit.core.engine;

/** The engine's waiting queue is full: retry later (the gateway answers 503 with Retry-After). */
public class EngineOverloadedException extends RuntimeException {
    public EngineOverloadedException(String message) {
        super(message);
    }
}
