package io.conduit.gateway.web;

import io.conduit.gateway.GatewayProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.core.Ordered;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Gives every request a new id (a caller's {@code X-Request-Id} is only logged beside it), returns it in
 * the response header, logs one access line with it, and rejects bodies over the size limit with 413 before
 * anything reads them.
 */
@Component
public class RequestIdFilter implements WebFilter, Ordered {
    public static final String ATTR = "conduit.requestId";
    public static final String HEADER = "X-Request-Id";
    public static final String MDC_KEY = "requestId";

    static {
        // Every log line written while handling a request carries its id (logging pattern %X{requestId}).
        io.micrometer.context.ContextRegistry.getInstance().registerThreadLocalAccessor(MDC_KEY,
                () -> MDC.get(MDC_KEY), v -> MDC.put(MDC_KEY, v), () -> MDC.remove(MDC_KEY));
        reactor.core.publisher.Hooks.enableAutomaticContextPropagation();
    }
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._:-]{1,100}");
    private static final Logger log = LoggerFactory.getLogger("conduit.access");
    private final ErrorWriter errors;
    private final long maxBytes;

    public RequestIdFilter(ErrorWriter errors, GatewayProperties props) {
        this.errors = errors;
        this.maxBytes = props.maxRequestBytes();
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    public static String requestId(ServerWebExchange exchange) {
        return exchange.getAttribute(ATTR);
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        // Always our own id: it keys the usage ledger, so a client must not be able to reuse one.
        String incoming = exchange.getRequest().getHeaders().getFirst(HEADER);
        String clientId = incoming != null && SAFE.matcher(incoming).matches() ? incoming : "-";
        String id = UUID.randomUUID().toString().replace("-", "");
        exchange.getAttributes().put(ATTR, id);
        exchange.getResponse().getHeaders().set(HEADER, id);
        // The API speaks only JSON; like OpenAI, treat a body sent without a JSON content type (curl -d
        // defaults to form encoding) as JSON rather than failing with 415.
        MediaType type = exchange.getRequest().getHeaders().getContentType();
        String path = exchange.getRequest().getPath().value();
        if ((path.startsWith("/v1/") || path.startsWith("/admin/api/"))
                && (type == null || MediaType.APPLICATION_FORM_URLENCODED.includes(type)
                || MediaType.TEXT_PLAIN.includes(type))) {
            exchange = exchange.mutate().request(r -> r.headers(h -> h.setContentType(MediaType.APPLICATION_JSON))).build();
            exchange.getAttributes().put(ATTR, id);
        }
        ServerWebExchange ex = exchange;
        long start = System.nanoTime();
        long length = ex.getRequest().getHeaders().getContentLength();
        Mono<Void> work = length > maxBytes
                ? errors.write(ex, new ApiException(HttpStatus.PAYLOAD_TOO_LARGE, "invalid_request_error",
                "request_too_large", null, "Request body is too large (limit " + maxBytes + " bytes).", 0))
                : chain.filter(ex);
        return work.contextWrite(reactor.util.context.Context.of(MDC_KEY, id)).doFinally(signal -> {
            MDC.put("requestId", id);
            try {
                var status = ex.getResponse().getStatusCode();
                log.info("{} {} -> {} in {} ms ({}, client id {})", ex.getRequest().getMethod(),
                        ex.getRequest().getPath().value(), status == null ? "-" : status.value(),
                        (System.nanoTime() - start) / 1_000_000, signal, clientId);
            } finally {
                MDC.remove("requestId");
            }
        });
    }
}
