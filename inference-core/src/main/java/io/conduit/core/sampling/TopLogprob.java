package io.conduit.core.sampling;

/** One entry of the per-token top-n list: a token and its log-probability under the raw model distribution. */
public record TopLogprob(int tokenId, float logprob) {}
