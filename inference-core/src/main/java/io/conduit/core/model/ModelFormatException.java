package io.conduit.core.model;

/**
 * A model file or directory that cannot be used: missing, truncated, corrupt, or using an architecture or
 * tensor type the engine does not support. The message names the file and the problem, for humans.
 */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
