package io.conduit.gateway.web;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.conduit.core.engine.DeadlineExceededException;
import io.conduit.core.engine.EngineOverloadedException;
import io.conduit.core.engine.PromptTooLongException;
import io.conduit.core.sampling.InvalidSamplingParamsException;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.core.AuthenticationException;
import org.springframework.stereotype.Component;
import org.springframework.web.server.MethodNotAllowedException;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.ServerWebInputException;
import reactor.core.publisher.Mono;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeoutException;

/** Turns any failure into an OpenAI-shaped error body with the right status. Never leaks a stack trace. */
@Component
public class ErrorWriter {
    private static final Logger log = LoggerFactory.getLogger(ErrorWriter.class);
    public static final ObjectMapper JSON = new ObjectMapper();

    /** Maps engine, parsing, security and framework exceptions to an {@link ApiException}. */
    public static ApiException toApi(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ApiException a) return a;
            if (c instanceof DataBufferLimitException) {
                return new ApiException(HttpStatus.PAYLOAD_TOO_LARGE, "invalid_request_error", "request_too_large",
                        null, "Request body is too large.", 0);
            }
        }
        return switch (t) {
            case InvalidSamplingParamsException e -> ApiException.invalid(e.getMessage(), e.parameter());
            case PromptTooLongException e -> ApiException.invalid(
                    "This model's maximum context length was exceeded: " + e.getMessage(), "messages",
                    "context_length_exceeded");
            case EngineOverloadedException e -> ApiException.unavailable(
                    "The engine is overloaded; retry shortly.", "engine_overloaded", 1);
            case BulkheadFullException e -> ApiException.unavailable(
                    "Too many concurrent requests for this model; retry shortly.", "engine_overloaded", 1);
            case DeadlineExceededException e -> ApiException.unavailable(
                    "The request waited too long for the engine; retry shortly.", "engine_timeout", 2);
            case TimeoutException e -> ApiException.unavailable(
                    "The request took too long and was stopped.", "request_timeout", 2);
            case IllegalArgumentException e -> ApiException.invalid(e.getMessage(), null);
            case AuthenticationException e -> ApiException.unauthorized(e.getMessage(), "invalid_api_key");
            case AccessDeniedException e -> ApiException.forbidden(
                    "Your API key's role does not allow this operation.", "permission_denied");
            case MethodNotAllowedException e -> new ApiException(HttpStatus.METHOD_NOT_ALLOWED,
                    "invalid_request_error", "method_not_allowed", null, "Method not allowed.", 0);
            case ServerWebInputException e -> ApiException.invalid("Invalid request: " + e.getReason(), null);
            case ResponseStatusException e when e.getStatusCode().value() == 404 -> ApiException.notFound(
                    "Unknown endpoint.", "unknown_url", null);
            case ResponseStatusException e -> new ApiException(HttpStatus.valueOf(e.getStatusCode().value()),
                    e.getStatusCode().is4xxClientError() ? "invalid_request_error" : "server_error", null, null,
                    e.getReason() != null ? e.getReason()
                            : HttpStatus.valueOf(e.getStatusCode().value()).getReasonPhrase() + ".", 0);
            default -> {
                log.error("unexpected failure", t);
                yield ApiException.internal("The server had an error while processing your request.");
            }
        };
    }

    public static String body(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        err.put("param", e.param());
        err.put("code", e.code());
        return root.toString();
    }

    public Mono<Void> write(ServerWebExchange exchange, Throwable t) {
        ApiException e = toApi(t);
        ServerHttpResponse response = exchange.getResponse();
        if (response.isCommitted()) return Mono.error(t);
        response.setStatusCode(e.status());
        HttpHeaders h = response.getHeaders();
        h.setContentType(MediaType.APPLICATION_JSON);
        if (e.retryAfterSeconds() > 0) h.set(HttpHeaders.RETRY_AFTER, Long.toString(e.retryAfterSeconds()));
        byte[] bytes = body(e).getBytes(StandardCharsets.UTF_8);
        return response.writeWith(Mono.just(response.bufferFactory().wrap(bytes)));
    }
}
