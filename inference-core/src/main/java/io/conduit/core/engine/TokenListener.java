package io.conduit.core.engine;

import io.conduit.core.sampling.SampledToken;

/** Receives a generation as it happens: each token, with the text that became final with it (maybe empty). */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = (token, textDelta) -> { };

    void onToken(SampledToken token, String textDelta);
}
