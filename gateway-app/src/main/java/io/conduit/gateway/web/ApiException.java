package io.conduit.gateway.web;

import org.springframework.http.HttpStatus;

/**
 * A failure with its OpenAI error shape: {@code {"error": {"message", "type", "param", "code"}}}.
 *
 * @param retryAfterSeconds sent as Retry-After when positive (429, 503)
 */
public class ApiException extends RuntimeException {
    private final HttpStatus status;
    private final String type;
    private final String code;
    private final String param;
    private final long retryAfterSeconds;

    public ApiException(HttpStatus status, String type, String code, String param, String message,
                        long retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public static ApiException invalid(String message, String param) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", null, param, message, 0);
    }

    public static ApiException invalid(String message, String param, String code) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", code, param, message, 0);
    }

    public static ApiException unauthorized(String message, String code) {
        return new ApiException(HttpStatus.UNAUTHORIZED, "invalid_request_error", code, null, message, 0);
    }

    public static ApiException forbidden(String message, String code) {
        return new ApiException(HttpStatus.FORBIDDEN, "permission_error", code, null, message, 0);
    }

    public static ApiException notFound(String message, String code, String param) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", code, param, message, 0);
    }

    public static ApiException rateLimited(String message, String code, long retryAfter) {
        return new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error", code, null, message,
                Math.max(1, retryAfter));
    }

    public static ApiException quota(String message, long retryAfter) {
        return new ApiException(HttpStatus.TOO_MANY_REQUESTS, "insufficient_quota", "insufficient_quota", null,
                message, Math.max(1, retryAfter));
    }

    public static ApiException unavailable(String message, String code, long retryAfter) {
        return new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", code, null, message,
                Math.max(1, retryAfter));
    }

    public static ApiException internal(String message) {
        return new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "internal_error", null, message, 0);
    }

    public HttpStatus status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String code() {
        return code;
    }

    public String param() {
        return param;
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
