package io.conduit.core.engine;

import io.conduit.core.sampling.SampledToken;

import java.util.List;

/**
 * One finished generation.
 *
 * @param tokenIds  the generated ids only, including a final stop token if one ended generation
 * @param text      the generated text, special tokens skipped and any matched stop string removed
 * @param logprobs  one entry per generated token when logprobs were requested, else empty
 * @param cachedPromptTokens prompt tokens whose KV came from the prefix cache instead of being computed
 * @param queueNanos   time spent waiting before the first scheduling step
 * @param prefillNanos time to process the prompt and sample the first token
 * @param decodeNanos  time for the remaining tokens
 */
public record GenerationResult(int[] promptIds, int[] tokenIds, String text, FinishReason finishReason,
                               List<SampledToken> logprobs, int cachedPromptTokens, long queueNanos,
                               long prefillNanos, long decodeNanos) {
}
