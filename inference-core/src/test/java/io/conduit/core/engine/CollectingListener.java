package io.conduit.core.engine;

import io.conduit.core.sampling.SampledToken;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** Collects one request's stream for tests; fails the test if the engine calls it after the end. */
final class CollectingListener implements GenerationListener {
    private static final AtomicLong FIRST_TOKENS = new AtomicLong();

    final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
    final List<Integer> tokens = new CopyOnWriteArrayList<>();
    final StringBuffer streamed = new StringBuffer();
    final CountDownLatch firstTokens;
    /** Position of this request's first token among all listeners' first tokens (-1 until it has one). */
    volatile long firstTokenOrder = -1;
    private final int latchAfterTokens;
    private final CountDownLatch hold;

    CollectingListener() {
        this(1);
    }

    CollectingListener(int latchAfterTokens) {
        this(latchAfterTokens, false);
    }

    private CollectingListener(int latchAfterTokens, boolean holdEngine) {
        this.latchAfterTokens = latchAfterTokens;
        this.firstTokens = new CountDownLatch(latchAfterTokens);
        this.hold = holdEngine ? new CountDownLatch(1) : null;
    }

    /**
     * A listener that, at its {@code n}th token, keeps the engine's loop thread inside the callback until
     * {@link #release()}: once {@link #awaitTokens()} returns, the request (and every other one) certainly is
     * still unfinished, however fast the model and however slow the test thread.
     */
    static CollectingListener holdingAt(int n) {
        return new CollectingListener(n, true);
    }

    void release() {
        hold.countDown();
    }

    @Override
    public void onToken(SampledToken token, String textDelta) {
        if (result.isDone()) throw new AssertionError("token after completion");
        tokens.add(token.tokenId());
        if (tokens.size() == 1) firstTokenOrder = FIRST_TOKENS.incrementAndGet();
        streamed.append(textDelta);
        firstTokens.countDown();
        if (hold != null && tokens.size() == latchAfterTokens) {
            try {
                hold.await(120, TimeUnit.SECONDS); // bounded: a failed test must not wedge the engine forever
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void onComplete(GenerationResult r) {
        if (!result.complete(r)) throw new AssertionError("completed twice");
    }

    @Override
    public void onError(Throwable error) {
        if (!result.completeExceptionally(error)) throw new AssertionError("completed twice");
    }

    GenerationResult await() {
        try {
            return result.get(120, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    void awaitTokens() throws InterruptedException {
        if (!firstTokens.await(60, TimeUnit.SECONDS)) throw new AssertionError("no tokens in time");
    }
}
