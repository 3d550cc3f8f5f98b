package io.conduit.core.sampling;

import java.util.List;

/**
 * The result of one sampling step.
 *
 * @param tokenId     the chosen token
 * @param logprob     log-probability of the chosen token under the <em>raw</em> model distribution
 *                    (log_softmax of the unmodified logits, vLLM's default); {@link Float#NaN} when the
 *                    params have {@code logprobs == -1} (not requested), so that nobody pays for it
 * @param topLogprobs the {@code logprobs} most likely tokens of the raw distribution, most likely first, ties
 *                    by lower id; empty when {@code logprobs <= 0}. Immutable.
 */
public record SampledToken(int tokenId, float logprob, List<TopLogprob> topLogprobs) {
    public SampledToken {
        topLogprobs = List.copyOf(topLogprobs);
    }
}
