package io.conduit.core.scheduler;

import io.conduit.core.engine.EngineRequest;
import io.conduit.core.engine.FinishReason;
import io.conduit.core.engine.GenerationListener;
import io.conduit.core.kv.BlockTable;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.sampling.SampledToken;
import io.conduit.core.sampling.Sampler;
import io.conduit.core.sampling.SamplingParams;
import io.conduit.core.sampling.StopStringMatcher;
import io.conduit.core.sampling.TokenHistory;
import io.conduit.core.tokenizer.StreamingDecoder;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One request's state inside the engine: its tokens so far, how many of them have KV in the cache,
 * its block table, sampler and text state. Owned by the engine loop; only {@link #cancel()} is called
 * from other threads.
 */
public final class Sequence {
    public final EngineRequest request;
    public final GenerationListener listener;
    public final Sampler sampler;
    public final TokenHistory history;
    public final StreamingDecoder decoder;
    public final StopStringMatcher stops;
    public final Set<Integer> stopTokenIds;
    public final int maxTokens;
    public final BlockTable table;
    public final long submittedNanos;
    public final long order;

    /** Leading tokens of {@link #history} whose keys and values are in the cache. */
    public int computed;
    public int cachedPromptTokens;
    public final StringBuilder text = new StringBuilder();
    public final List<SampledToken> logprobs = new ArrayList<>();
    public long firstScheduledNanos;
    public long firstTokenNanos;
    public long lastTokenNanos;
    public int preemptions;
    private volatile boolean cancelled;

    /**
     * A sequence for {@code request} on {@code model}: max tokens clamped to the context left after the
     * prompt, and generation ending on the request's stop ids plus the model's own (unless ignore_eos).
     */
    public static Sequence create(EngineRequest request, GenerationListener listener, LoadedModel model,
                                  BlockTable table, long order) {
        SamplingParams p = request.params();
        Set<Integer> stopIds = new HashSet<>(p.stopTokenIds());
        if (!p.ignoreEos()) stopIds.addAll(model.tokenizer().stopTokenIds());
        int maxTokens = Math.min(p.maxTokens(), model.config().contextLength() - request.promptIds().length);
        return new Sequence(request, listener, new Sampler(p), model.tokenizer().streamingDecoder(true),
                Set.copyOf(stopIds), maxTokens, table, order);
    }

    public Sequence(EngineRequest request, GenerationListener listener, Sampler sampler, StreamingDecoder decoder,
                    Set<Integer> stopTokenIds, int maxTokens, BlockTable table, long order) {
        this.request = request;
        this.listener = listener;
        this.sampler = sampler;
        this.history = new TokenHistory(request.promptIds());
        this.decoder = decoder;
        this.stops = new StopStringMatcher(request.params().stop());
        this.stopTokenIds = stopTokenIds;
        this.maxTokens = maxTokens;
        this.table = table;
        this.submittedNanos = System.nanoTime();
        this.order = order;
    }

    /** Tokens that still need a forward pass before the next token can be sampled. */
    public int pendingTokens() {
        return history.size() - computed;
    }

    /** All tokens so far: prompt then generated. */
    public int[] tokens() {
        int[] out = new int[history.size()];
        for (int i = 0; i < out.length; i++) out[i] = history.tokenAt(i);
        return out;
    }

    /**
     * Appends a sampled token and streams the text it completes (a stop string is cut off, a stop token adds
     * no text). Returns why the sequence ends here, or null when it goes on.
     */
    public FinishReason append(SampledToken token) {
        history.append(token.tokenId());
        if (request.params().logprobs() >= 0) logprobs.add(token);
        if (stopTokenIds.contains(token.tokenId())) {
            emit(token, "");
            return FinishReason.STOP;
        }
        StopStringMatcher.Result r = stops.feed(decoder.feed(token.tokenId()));
        text.append(r.text());
        emit(token, r.text());
        if (r.stopped()) return FinishReason.STOP;
        if (history.generatedCount() >= maxTokens) {
            text.append(stops.feed(decoder.flush()).text()).append(stops.flush());
            return FinishReason.LENGTH;
        }
        return null;
    }

    /** A listener that throws has gone away: stop serving it rather than let it break the engine. */
    private void emit(SampledToken token, String delta) {
        try {
            listener.onToken(token, delta);
        } catch (RuntimeException e) {
            cancel();
        }
    }

    public String tenant() {
        return request.tenant();
    }

    public void cancel() {
        cancelled = true;
    }

    public boolean cancelled() {
        return cancelled;
    }
}
