package io.conduit.gateway.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.conduit.core.chat.ChatMessage;
import io.conduit.core.engine.EngineRequest;
import io.conduit.core.engine.FinishReason;
import io.conduit.core.engine.Generator;
import io.conduit.core.engine.GenerationResult;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.sampling.SamplingParams;
import io.conduit.core.tokenizer.Tokenizer;
import io.conduit.gateway.GatewayProperties;
import io.conduit.gateway.auth.Caller;
import io.conduit.gateway.engine.GenerationRun;
import io.conduit.gateway.engine.ModelPool;
import io.conduit.gateway.usage.BudgetService;
import io.conduit.gateway.usage.RateLimiter;
import io.conduit.gateway.usage.UsageLedger;
import io.conduit.gateway.usage.UsageRecord;
import io.conduit.gateway.web.ApiException;
import io.conduit.gateway.web.ErrorWriter;
import io.conduit.gateway.web.RequestIdFilter;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.reactor.timelimiter.TimeLimiterOperator;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The OpenAI-compatible API. Admission order: parse, resolve model and permissions, tokenize and check the
 * context, RPM/TPM, budget reservation, bulkhead, engine. Every request that names a model the caller may use
 * ends in exactly one usage record, whatever happens after that point.
 */
@RestController
@Tag(name = "OpenAI-compatible API")
public class OpenAiController {
    private final ModelPool pool;
    private final BudgetService budgets;
    private final RateLimiter limiter;
    private final UsageLedger ledger;
    private final GatewayProperties props;
    private final TimeLimiter timeLimiter;

    public OpenAiController(ModelPool pool, BudgetService budgets, RateLimiter limiter, UsageLedger ledger,
                            GatewayProperties props, TimeLimiter engineTimeLimiter) {
        this.pool = pool;
        this.budgets = budgets;
        this.limiter = limiter;
        this.ledger = ledger;
        this.props = props;
        this.timeLimiter = engineTimeLimiter;
    }

    @GetMapping(value = "/v1/models", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Models the caller's key may use")
    public Mono<String> models(@AuthenticationPrincipal Caller caller) {
        ObjectNode root = ErrorWriter.JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (ModelPool.ServedModel m : pool.all()) {
            if (caller.mayUse(m.name(), null)) data.add(modelJson(m.name(), m.createdEpochSeconds()));
            for (String a : m.adapters()) {
                if (caller.mayUse(m.name(), a)) data.add(modelJson(m.name() + ":" + a, m.createdEpochSeconds()));
            }
        }
        return Mono.just(root.toString());
    }

    @GetMapping(value = "/v1/models/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "One model, if the caller's key may use it")
    public Mono<String> model(@AuthenticationPrincipal Caller caller, @PathVariable String id) {
        Resolved r = resolve(caller, id);
        return Mono.just(modelJson(id, r.model.createdEpochSeconds()).toString());
    }

    private static ObjectNode modelJson(String id, long created) {
        ObjectNode o = ErrorWriter.JSON.createObjectNode();
        o.put("id", id);
        o.put("object", "model");
        o.put("created", created);
        o.put("owned_by", "conduit");
        return o;
    }

    @PostMapping("/v1/chat/completions")
    @Operation(summary = "Chat completion (OpenAI-compatible; stream with SSE)")
    public Mono<Void> chat(@AuthenticationPrincipal Caller caller, ServerWebExchange exchange) {
        return readBody(exchange).flatMap(body -> handle(true, body, caller, exchange));
    }

    @PostMapping("/v1/completions")
    @Operation(summary = "Text completion (OpenAI-compatible; stream with SSE)")
    public Mono<Void> completions(@AuthenticationPrincipal Caller caller, ServerWebExchange exchange) {
        return readBody(exchange).flatMap(body -> handle(false, body, caller, exchange));
    }

    /**
     * Reads the body ourselves, whatever its content type (like OpenAI, we accept JSON sent as text or form
     * data by sloppy clients), with a hard size limit: beyond it DataBufferLimitException maps to 413.
     */
    private Mono<String> readBody(ServerWebExchange exchange) {
        return DataBufferUtils.join(exchange.getRequest().getBody(), props.maxRequestBytes())
                .map(buf -> {
                    try {
                        return buf.toString(StandardCharsets.UTF_8);
                    } finally {
                        DataBufferUtils.release(buf);
                    }
                })
                .defaultIfEmpty("");
    }

    private record Resolved(ModelPool.ServedModel model, String adapter) {
    }

    private Resolved resolve(Caller caller, String name) {
        String base = name;
        String adapter = null;
        int colon = name.indexOf(':');
        if (colon > 0) {
            base = name.substring(0, colon);
            adapter = name.substring(colon + 1);
        }
        ModelPool.ServedModel m = pool.get(base);
        if (m == null) {
            throw ApiException.invalid("The model `" + name + "` does not exist.", "model", "model_not_found");
        }
        if (adapter != null && !m.adapters().contains(adapter)) {
            throw ApiException.notFound("The adapter `" + adapter + "` does not exist for model `" + base + "`.",
                    "adapter_not_found", "model");
        }
        if (!caller.mayUse(base, adapter)) {
            throw ApiException.forbidden("Your API key or team is not allowed to use the model `" + name + "`.",
                    "model_not_allowed");
        }
        return new Resolved(m, adapter);
    }

    /** What one request is, once admitted far enough to be metered. */
    private record Meter(String requestId, Instant at, Caller caller, String model, String adapter, String endpoint,
                         String endUser, int perPrompt) {
        UsageRecord rejected(Throwable t) {
            ApiException e = ErrorWriter.toApi(t);
            return new UsageRecord(requestId, at, caller.teamId(), caller.keyId(), model, adapter, endpoint,
                    "rejected", e.status().value(), e.code(), 0, 0, 0, 0, 0, 0, endUser);
        }
    }

    private Mono<Void> handle(boolean chat, String body, Caller caller, ServerWebExchange exchange) {
        String requestId = RequestIdFilter.requestId(exchange);
        Instant at = Instant.now();
        if (body == null || body.isBlank()) {
            throw ApiException.invalid("The request body is empty; send a JSON object.", null);
        }
        JsonNode root;
        try {
            root = ErrorWriter.JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.invalid("We could not parse the JSON body of your request. (HINT: This likely means "
                    + "you aren't using your HTTP library correctly.)", null, "invalid_json");
        }
        ParsedRequest req = ParsedRequest.parse(root, chat);
        Resolved resolved = resolve(caller, req.model());
        ModelPool.ServedModel m = resolved.model();
        Meter meter = new Meter(requestId, at, caller, m.name(), resolved.adapter(),
                chat ? "chat.completions" : "completions", req.user(), req.n());
        try {
            return admit(chat, req, resolved, meter, exchange);
        } catch (RuntimeException e) {
            ledger.recordAsync(meter.rejected(e));
            throw e;
        }
    }

    private Mono<Void> admit(boolean chat, ParsedRequest req, Resolved resolved, Meter meter,
                             ServerWebExchange exchange) {
        ModelPool.ServedModel m = resolved.model();
        List<int[]> prompts = prompts(chat, req, m);
        int ctx = m.contextLength();
        int maxTokens = req.maxTokens() != null ? req.maxTokens() : (chat ? ctx - prompts.getFirst().length : 16);
        long promptTokens = 0;
        for (int i = 0; i < prompts.size(); i++) {
            checkContext(chat, prompts.get(i), prompts.size() > 1 ? i : -1, maxTokens, ctx);
            checkVocabulary(prompts.get(i), prompts.size() > 1 ? i : -1, m.model().config());
            promptTokens += prompts.get(i).length;
        }
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(maxTokens).logprobs(req.logprobs());
        if (req.temperature() != null) b.temperature(req.temperature());
        if (req.topP() != null) b.topP(req.topP());
        if (req.stop() != null) b.stop(req.stop());
        if (req.presencePenalty() != null) b.presencePenalty(req.presencePenalty());
        if (req.frequencyPenalty() != null) b.frequencyPenalty(req.frequencyPenalty());
        SamplingParams base = b.build();
        Instant deadline = Instant.now().plus(props.queueTimeout());
        List<EngineRequest> requests = new ArrayList<>();
        for (int[] prompt : prompts) {
            for (int j = 0; j < req.n(); j++) {
                // Seed + j per prompt: a batched prompt samples exactly as it would alone.
                SamplingParams p = req.seed() == null ? base : base.toBuilder().seed(req.seed() + j).build();
                requests.add(new EngineRequest(meter.requestId() + "-" + requests.size(), prompt, p,
                        meter.caller().teamId(), meter.caller().teamWeight(), resolved.adapter(),
                        // Until adapters carry a content digest, their name keeps their cached prefixes apart.
                        resolved.adapter(), null, deadline));
            }
        }
        long estimate = promptTokens + (long) requests.size() * maxTokens;
        // Admission (rate limit, budget reservation, engine submit) runs to its end even if the client hangs up
        // meanwhile: a reservation is only ever settled by the request's usage record, so admission must not
        // be cut off between the two. A client that left during admission gets its run cancelled (and metered).
        CompletableFuture<GenerationRun> admitted = limiter.admit(meter.caller(), estimate)
                .onErrorResume(e -> ledger.record(meter.rejected(e)).onErrorResume(x -> Mono.empty()).then(Mono.error(e)))
                .flatMap(ticket -> budgets.reserve(meter.caller(), meter.requestId(), estimate)
                        .onErrorResume(e -> {
                            limiter.refund(ticket, 0);
                            return ledger.record(meter.rejected(e)).onErrorResume(x -> Mono.empty()).then(Mono.error(e));
                        })
                        .then(Mono.fromCallable(() -> start(m, requests, meter, ticket))))
                .toFuture();
        return Mono.fromFuture(admitted, true)
                .doOnCancel(() -> admitted.thenAccept(run -> {
                    run.cancel();
                    run.endResponse();
                }))
                .flatMap(run -> (req.stream() ? stream(chat, req, m, meter, run, exchange)
                        : respond(chat, req, m, meter, run, exchange)).doFinally(signal -> run.endResponse()));
    }

    /** Token ids of each prompt (chat: the rendered conversation; completions: one per batch element). */
    private static List<int[]> prompts(boolean chat, ParsedRequest req, ModelPool.ServedModel m) {
        Tokenizer tok = m.model().tokenizer();
        if (chat) {
            List<ChatMessage> messages = req.messages().stream()
                    .map(x -> new ChatMessage(x.role().equals("developer") ? "system" : x.role(), x.content()))
                    .toList();
            String rendered = m.chatTemplate().render(messages, true);
            // Templates usually write BOS themselves; add it only when they did not (as the CLI does).
            boolean templateHasBos = tok.bosId() >= 0 && rendered.startsWith(tok.tokenText(tok.bosId()));
            return List.of(tok.encode(rendered, tok.addBosByDefault() && !templateHasBos, true));
        }
        if (req.promptIds() != null) return req.promptIds();
        return req.prompts().stream().map(p -> tok.encode(p, tok.addBosByDefault(), true)).toList();
    }

    /**
     * The engine's own prompt check, run here for every prompt before anything is reserved or started: the engine
     * would refuse a bad token id too, but one choice at a time, after the other prompts of a batch had started.
     */
    private static void checkVocabulary(int[] prompt, int index, ModelConfig config) {
        try {
            Generator.validatePrompt(prompt, config);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage() + (index >= 0 ? " (prompt at index " + index + ")" : ""), "prompt");
        }
    }

    /** One prompt against the context window; {@code index} names the batch element (-1: not batched). */
    private static void checkContext(boolean chat, int[] prompt, int index, int maxTokens, int ctx) {
        String what = chat ? "messages" : "prompt";
        if (prompt.length == 0) throw ApiException.invalid("The prompt is empty.", what);
        if (prompt.length >= ctx || (long) prompt.length + maxTokens > ctx) {
            throw ApiException.invalid("This model's maximum context length is " + ctx + " tokens. However, you "
                    + "requested " + ((long) prompt.length + Math.max(maxTokens, 0)) + " tokens (" + prompt.length
                    + " in the " + what + (index >= 0 ? " at index " + index : "") + ", " + Math.max(maxTokens, 0)
                    + " in the completion). Please reduce the length of the " + what + " or completion.", what,
                    "context_length_exceeded");
        }
    }

    private GenerationRun start(ModelPool.ServedModel m, List<EngineRequest> requests, Meter meter,
                                RateLimiter.Ticket ticket) {
        if (!m.bulkhead().tryAcquirePermission()) {
            BulkheadFullException full = BulkheadFullException.createBulkheadFullException(m.bulkhead());
            ledger.recordAsync(meter.rejected(full)); // settles (releases) the budget reservation
            limiter.refund(ticket, 0);
            throw full;
        }
        GenerationRun run = new GenerationRun(requests.size());
        run.settled().whenComplete((outcomes, ignored) -> {
            m.bulkhead().onComplete();
            UsageRecord r = toRecord(meter, run, outcomes);
            limiter.refund(ticket, r.totalTokens());
            ledger.recordAsync(r);
        });
        run.start(m, requests);
        return run;
    }

    private static UsageRecord toRecord(Meter meter, GenerationRun run, List<GenerationRun.Outcome> outcomes) {
        List<GenerationResult> results = new ArrayList<>();
        Throwable error = null;
        boolean cancelled = false;
        for (GenerationRun.Outcome o : outcomes) {
            results.add(o.result());
            if (o.result() != null && o.result().finishReason() == FinishReason.CANCELLED) cancelled = true;
            if (o.error() != null && error == null) error = o.error();
        }
        Totals t = Totals.of(results, meter.perPrompt());
        String status = "ok";
        int http = 200;
        String code = null;
        if (run.timedOut()) {
            status = "error";
            http = 503;
            code = "request_timeout";
        } else if (error != null) {
            ApiException e = ErrorWriter.toApi(error);
            status = "error";
            http = e.status().value();
            code = e.code();
        } else if (cancelled) {
            status = "cancelled";
            http = 499; // client closed the request
            code = "client_disconnected";
        }
        return new UsageRecord(meter.requestId(), meter.at(), meter.caller().teamId(), meter.caller().keyId(),
                meter.model(), meter.adapter(), meter.endpoint(), status, http, code, t.prompt(), t.cached(),
                t.completion(), t.queueMs(), t.prefillMs(), t.decodeMs(), meter.endUser());
    }

    private Renderer renderer(boolean chat, ModelPool.ServedModel m, ParsedRequest req, Meter meter) {
        return new Renderer(chat, (chat ? "chatcmpl-" : "cmpl-") + meter.requestId(), req.model(),
                meter.at().getEpochSecond(), m.model().tokenizer());
    }

    private Mono<Void> respond(boolean chat, ParsedRequest req, ModelPool.ServedModel m, Meter meter,
                               GenerationRun run, ServerWebExchange exchange) {
        Renderer r = renderer(chat, m, req, meter);
        return run.events()
                .filter(e -> !(e instanceof GenerationRun.Token))
                .collectList()
                .transformDeferred(TimeLimiterOperator.of(timeLimiter))
                .doOnError(TimeoutException.class, e -> run.markTimedOut())
                .flatMap(events -> {
                    GenerationResult[] results = new GenerationResult[run.n()];
                    for (GenerationRun.Event e : events) {
                        if (e instanceof GenerationRun.Failed f) return Mono.error(f.error());
                        if (e instanceof GenerationRun.Done d) results[d.index()] = d.result();
                    }
                    List<GenerationResult> list = List.of(results);
                    String json = r.response(list, Totals.of(list, req.n()).json());
                    ServerHttpResponse resp = exchange.getResponse();
                    resp.getHeaders().setContentType(MediaType.APPLICATION_JSON);
                    return resp.writeWith(Mono.just(resp.bufferFactory().wrap(json.getBytes(StandardCharsets.UTF_8))));
                });
    }

    private Mono<Void> stream(boolean chat, ParsedRequest req, ModelPool.ServedModel m, Meter meter,
                              GenerationRun run, ServerWebExchange exchange) {
        Renderer r = renderer(chat, m, req, meter);
        boolean usage = req.includeUsage();
        boolean withLogprobs = req.logprobs() >= 0;
        AtomicReferenceArray<GenerationResult> results = new AtomicReferenceArray<>(run.n());
        AtomicBoolean failed = new AtomicBoolean();
        Flux<String> roles = chat ? Flux.range(0, run.n()).map(i -> r.roleChunk(i, usage)) : Flux.empty();
        Flux<String> tokens = run.events()
                .transformDeferred(TimeLimiterOperator.of(timeLimiter))
                .doOnError(TimeoutException.class, e -> run.markTimedOut())
                .concatMap(e -> switch (e) {
                    case GenerationRun.Token t -> t.delta().isEmpty() && !withLogprobs ? Flux.<String>empty()
                            : Flux.just(r.tokenChunk(t.index(), t.delta(), t.token(), withLogprobs, usage));
                    case GenerationRun.Done d -> {
                        results.set(d.index(), d.result());
                        yield Flux.just(r.finishChunk(d.index(), d.result().finishReason(), usage));
                    }
                    case GenerationRun.Failed f -> Flux.error(f.error());
                });
        Flux<String> tail = Flux.defer(() -> {
            List<GenerationResult> list = new ArrayList<>();
            for (int i = 0; i < results.length(); i++) list.add(results.get(i));
            return usage ? Flux.just(r.usageChunk(Totals.of(list, req.n()).json()), "[DONE]") : Flux.just("[DONE]");
        });
        Flux<String> events = Flux.concat(roles, tokens, tail)
                .onErrorResume(e -> {
                    failed.set(true);
                    return Flux.just(ErrorWriter.body(ErrorWriter.toApi(e)));
                });
        ServerHttpResponse resp = exchange.getResponse();
        resp.getHeaders().setContentType(MediaType.TEXT_EVENT_STREAM);
        resp.getHeaders().set(HttpHeaders.CACHE_CONTROL, "no-cache");
        resp.getHeaders().set("X-Accel-Buffering", "no");
        return resp.writeAndFlushWith(events.map(s -> Mono.just(resp.bufferFactory()
                .wrap(("data: " + s + "\n\n").getBytes(StandardCharsets.UTF_8)))));
    }
}
