package io.conduit.gateway.usage;

import io.conduit.gateway.auth.Caller;
import io.conduit.gateway.web.ApiException;
import reactor.core.publisher.Mono;

import java.util.concurrent.ConcurrentHashMap;

/**
 * RPM and TPM per key and per team in fixed one-minute windows, in this process (one gateway replica; set
 * CONDUIT_REDIS_URL to share the windows between replicas, see {@link RedisRateLimiter}).
 */
public class LocalRateLimiter implements RateLimiter {
    private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

    private static final class Window {
        long minute;
        long requests;
        long tokens;
    }

    @Override
    public Mono<Ticket> admit(Caller caller, long tokens) {
        return Mono.fromCallable(() -> admitNow(caller, tokens));
    }

    Ticket admitNow(Caller caller, long tokens) {
        long nowMs = System.currentTimeMillis();
        long minute = nowMs / 60_000;
        long retryAfter = Math.max(1, (minute + 1) * 60 - nowMs / 1000);
        String keyScope = "key:" + caller.keyId();
        String teamScope = "team:" + caller.teamId();
        Window kw = windows.computeIfAbsent(keyScope, k -> new Window());
        Window tw = windows.computeIfAbsent(teamScope, k -> new Window());
        // Lock in a fixed order (team, then key) so that both windows change together or not at all.
        synchronized (tw) {
            synchronized (kw) {
                roll(kw, minute);
                roll(tw, minute);
                check(caller.keyRpm(), kw.requests + 1, "requests per minute", "API key", retryAfter);
                check(caller.teamRpm(), tw.requests + 1, "requests per minute", "team", retryAfter);
                check(caller.keyTpm(), kw.tokens + tokens, "tokens per minute", "API key", retryAfter);
                check(caller.teamTpm(), tw.tokens + tokens, "tokens per minute", "team", retryAfter);
                kw.requests++;
                tw.requests++;
                kw.tokens += tokens;
                tw.tokens += tokens;
            }
        }
        return new Ticket(minute, tokens, keyScope, teamScope);
    }

    private static void roll(Window w, long minute) {
        if (w.minute != minute) {
            w.minute = minute;
            w.requests = 0;
            w.tokens = 0;
        }
    }

    static void check(Integer limit, long wanted, String what, String scope, long retryAfter) {
        if (limit != null && wanted > limit) {
            throw ApiException.rateLimited("Rate limit reached for this " + scope + ": " + limit + " " + what
                    + ". Retry after " + retryAfter + " s.", "rate_limit_exceeded", retryAfter);
        }
    }

    @Override
    public void refund(Ticket t, long usedTokens) {
        long unused = t.tokens() - usedTokens;
        if (unused <= 0) return;
        for (String scope : new String[]{t.keyScope(), t.teamScope()}) {
            Window w = windows.get(scope);
            if (w == null) continue;
            synchronized (w) {
                if (w.minute == t.minute()) w.tokens = Math.max(0, w.tokens - unused);
            }
        }
    }
}
