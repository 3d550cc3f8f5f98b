/**
 * Token sampling with vLLM / OpenAI semantics.
 *
 * <p>Per sequence the engine keeps a {@link io.conduit.core.sampling.Sampler} (built from validated
 * {@link io.conduit.core.sampling.SamplingParams}, it owns the sequence's seeded random generator), a
 * {@link io.conduit.core.sampling.TokenHistory} (prompt + generated ids, feeds the penalties) and, when the request
 * has stop strings, a {@link io.conduit.core.sampling.StopStringMatcher} for the detokenized stream. Each step:
 * {@code SampledToken t = sampler.sample(logits, row * vocab, vocab, history); history.append(t.tokenId());}
 * then stop on {@link io.conduit.core.sampling.SamplingParams#stopsOn(int, int)}, on a stop string, or after
 * {@code maxTokens}.
 */
package io.conduit.core.sampling;
