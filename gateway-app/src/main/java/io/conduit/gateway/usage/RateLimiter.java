package io.conduit.gateway.usage;

import io.conduit.gateway.auth.Caller;
import reactor.core.publisher.Mono;

/**
 * RPM and TPM per key and per team, in fixed one-minute windows. Admission counts the request's maximum
 * tokens (prompt + n x max_tokens); {@link #refund} gives back what it did not use once it ends.
 */
public interface RateLimiter {
    /** Admits the request or fails with a 429 ApiException carrying Retry-After. */
    Mono<Ticket> admit(Caller caller, long tokens);

    /** Returns the unused part of the admission's tokens to its window, if that window is still current. */
    void refund(Ticket ticket, long usedTokens);

    /** What admission counted, to refund the unused part later (same windows, same minute). */
    record Ticket(long minute, long tokens, String keyScope, String teamScope) {
    }
}
