package io.conduit.core.engine;

/** The request waited past its deadline before it could be scheduled (the gateway answers 503/429). */
public class DeadlineExceededException extends RuntimeException {
    public DeadlineExceededException(String message) {
        super(message);
    }
}
