package io.conduit.core.engine;

import io.conduit.core.kv.BlockTable;
import io.conduit.core.kv.KvCache;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.runner.ForwardBatch;
import io.conduit.core.runner.ModelRunner;
import io.conduit.core.sampling.SampledToken;
import io.conduit.core.sampling.SamplingParams;
import io.conduit.core.scheduler.Sequence;

import java.util.Arrays;
import java.util.List;

/**
 * Runs one request at a time to completion: prefill the prompt in chunks, then sample token by token until
 * a stop token, a stop string, max_tokens or the end of the context. The batching engine serves many
 * requests at once through the same {@link ModelRunner}; this is the reference it must agree with.
 */
public final class Generator {
    private static final int BLOCK_SIZE = 16;
    private static final int PREFILL_CHUNK = 256;

    private final LoadedModel model;
    private KvCache kv;
    private ModelRunner runner;

    public Generator(LoadedModel model) {
        this.model = model;
        ensureKv(BLOCK_SIZE * 8);
    }

    /** The KV cache of the last request (tests check it is whole afterwards). */
    public KvCache kvCache() {
        return kv;
    }

    /**
     * Sizes the cache for one request: (prompt + max tokens), not the whole context window, which for
     * long-context models would be gigabytes. Grows only when a request needs more.
     */
    private void ensureKv(int tokens) {
        int blocks = (tokens + BLOCK_SIZE - 1) / BLOCK_SIZE;
        if (kv != null && kv.pool().capacity() >= blocks) return;
        kv = new KvCache(model.config(), blocks, BLOCK_SIZE);
        runner = new ModelRunner(model.config(), model.weights(), kv);
    }

    public GenerationResult generate(int[] promptIds, SamplingParams params) {
        return generate(promptIds, params, TokenListener.NONE);
    }

    public GenerationResult generate(int[] promptIds, SamplingParams params, TokenListener listener) {
        return generate(promptIds, params, listener, () -> false);
    }

    /** As {@link #generate(int[], SamplingParams, TokenListener)}, ending with CANCELLED once {@code cancelled} says so. */
    public synchronized GenerationResult generate(int[] promptIds, SamplingParams params, TokenListener listener,
                                                  java.util.function.BooleanSupplier cancelled) {
        validatePrompt(promptIds, model.config());
        int vocab = model.config().vocabSize();
        Sequence s = Sequence.create(EngineRequest.of("local", promptIds, params), streamingTo(listener), model,
                null, 0);
        ensureKv(promptIds.length + s.maxTokens + 1);
        BlockTable table = kv.newTable();
        long start = System.nanoTime();
        FinishReason finish = s.maxTokens > 0 ? null : FinishReason.LENGTH;
        try {
            float[] logits = prefill(promptIds, table);
            int pos = promptIds.length;
            while (finish == null) {
                if (cancelled.getAsBoolean() || s.cancelled()) {
                    finish = FinishReason.CANCELLED;
                    break;
                }
                SampledToken token = s.sampler.sample(logits, 0, vocab, s.history);
                if (s.firstTokenNanos == 0) s.firstTokenNanos = System.nanoTime();
                finish = s.append(token);
                if (finish != null) break;
                if (!table.ensureCapacity(pos + 1, kv.pool())) {
                    throw new IllegalStateException("KV cache exhausted at position " + pos);
                }
                logits = runner.forward(ForwardBatch.single(new int[]{token.tokenId()}, pos++, table));
            }
        } finally {
            table.release(kv.pool());
        }
        long end = System.nanoTime();
        long first = s.firstTokenNanos == 0 ? end : s.firstTokenNanos;
        return new GenerationResult(promptIds.clone(), s.history.generatedIds(), s.text.toString(), finish,
                List.copyOf(s.logprobs), 0, 0, first - start, end - first);
    }

    private static GenerationListener streamingTo(TokenListener listener) {
        return new GenerationListener() {
            @Override
            public void onToken(SampledToken token, String textDelta) {
                listener.onToken(token, textDelta);
            }

            @Override
            public void onComplete(GenerationResult result) {
            }

            @Override
            public void onError(Throwable error) {
            }
        };
    }

    /** Processes the prompt in chunks so a long prompt never needs activations for all of it at once. */
    private float[] prefill(int[] promptIds, BlockTable table) {
        if (!table.ensureCapacity(promptIds.length + 1, kv.pool())) {
            throw new IllegalStateException("KV cache cannot hold the prompt");
        }
        float[] logits = null;
        for (int from = 0; from < promptIds.length; from += PREFILL_CHUNK) {
            int to = Math.min(promptIds.length, from + PREFILL_CHUNK);
            logits = runner.forward(ForwardBatch.single(Arrays.copyOfRange(promptIds, from, to), from, table));
        }
        return logits;
    }

    /** Rejects prompts the model cannot run: empty, too long for the context, or with unknown token ids. */
    public static void validatePrompt(int[] promptIds, ModelConfig c) {
        if (promptIds.length == 0) throw new IllegalArgumentException("prompt is empty: give at least one token");
        if (promptIds.length >= c.contextLength()) throw new PromptTooLongException(promptIds.length, c.contextLength());
        for (int id : promptIds) {
            if (id < 0 || id >= c.vocabSize()) {
                throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary [0, "
                        + c.vocabSize() + ")");
            }
        }
    }
}
