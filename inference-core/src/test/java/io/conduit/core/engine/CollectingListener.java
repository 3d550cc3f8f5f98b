package io.conduit.core.engine;

import io.conduit.core.sampling.SampledToken;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Collects one request's stream for tests; fails the test if the engine calls it after the end. */
final class CollectingListener implements GenerationListener {
    final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
    final List<Integer> tokens = new CopyOnWriteArrayList<>();
    final StringBuffer streamed = new StringBuffer();
    final CountDownLatch firstTokens;

    CollectingListener() {
        this(1);
    }

    CollectingListener(int latchAfterTokens) {
        this.firstTokens = new CountDownLatch(latchAfterTokens);
    }

    @Override
    public void onToken(SampledToken token, String textDelta) {
        if (result.isDone()) throw new AssertionError("token after completion");
        tokens.add(token.tokenId());
        streamed.append(textDelta);
        firstTokens.countDown();
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
