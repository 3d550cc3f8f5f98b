package io.conduit.gateway.web;

import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/** Runs before Spring Boot's default error handler so every error, everywhere, is OpenAI-shaped JSON. */
@Component
@Order(-2)
public class GlobalErrorHandler implements WebExceptionHandler {
    private final ErrorWriter writer;

    public GlobalErrorHandler(ErrorWriter writer) {
        this.writer = writer;
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        return writer.write(exchange, ex);
    }
}
