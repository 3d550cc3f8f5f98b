package io.conduit.core.sampling;

/**
 * A sampling parameter is out of range. The message names the parameter by its OpenAI/vLLM wire name
 * ({@code top_p}, {@code max_tokens}, ...) and states the allowed range, so the API layer can return it
 * verbatim as an OpenAI-style {@code invalid_request_error}; {@link #parameter()} gives the name for the
 * error's {@code param} field.
 */
public final class InvalidSamplingParamsException extends IllegalArgumentException {
    private final String parameter;

    public InvalidSamplingParamsException(String parameter, String message) {
        super(message);
        this.parameter = parameter;
    }

    /** The wire name of the offending parameter, e.g. {@code "top_p"}. */
    public String parameter() {
        return parameter;
    }
}
