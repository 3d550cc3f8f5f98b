package io.conduit.gateway.engine;

import io.conduit.core.engine.EngineRequest;
import io.conduit.core.engine.GenerationListener;
import io.conduit.core.engine.GenerationResult;
import io.conduit.core.engine.RequestHandle;
import io.conduit.core.sampling.SampledToken;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The n engine requests of one API request. Engine callbacks only enqueue into a Reactor sink (never block);
 * {@link #finished()} completes when every choice has ended, whatever happened to the HTTP response, which is
 * what the usage ledger waits for.
 */
public final class GenerationRun {
    public sealed interface Event permits Token, Done, Failed {
        int index();
    }

    public record Token(int index, SampledToken token, String delta) implements Event {
    }

    public record Done(int index, GenerationResult result) implements Event {
    }

    public record Failed(int index, Throwable error) implements Event {
    }

    /** Per-choice outcome: a result, or an error (and then maybe no usage). */
    public record Outcome(GenerationResult result, Throwable error) {
    }

    private final Sinks.Many<Event> sink = Sinks.many().unicast().onBackpressureBuffer();
    private final List<RequestHandle> handles = new ArrayList<>();
    private final List<CompletableFuture<Outcome>> outcomes = new ArrayList<>();
    private final AtomicInteger open;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final int n;

    public GenerationRun(int n) {
        this.n = n;
        this.open = new AtomicInteger(n);
        for (int i = 0; i < n; i++) outcomes.add(new CompletableFuture<>());
    }

    /**
     * Submits all choices. If a submit throws, the choices already submitted are cancelled, the remaining ones
     * are marked failed, and the exception is rethrown (so the caller can map it to an HTTP status).
     */
    public void start(ModelPool.ServedModel model, List<EngineRequest> requests) {
        for (int i = 0; i < n; i++) {
            try {
                RequestHandle h = model.engine().submit(requests.get(i), listener(i));
                synchronized (this) {
                    handles.add(h);
                }
                if (cancelled.get()) h.cancel();
            } catch (RuntimeException e) {
                for (int j = i; j < n; j++) fail(j, e);
                cancel();
                throw e;
            }
        }
    }

    private GenerationListener listener(int index) {
        return new GenerationListener() {
            @Override
            public void onToken(SampledToken token, String textDelta) {
                emit(new Token(index, token, textDelta));
            }

            @Override
            public void onComplete(GenerationResult result) {
                // Exactly one terminal callback counts, even if an engine misbehaves and sends two.
                if (outcomes.get(index).complete(new Outcome(result, null))) {
                    emit(new Done(index, result));
                    closeOne();
                }
            }

            @Override
            public void onError(Throwable error) {
                fail(index, error);
            }
        };
    }

    private void fail(int index, Throwable error) {
        if (outcomes.get(index).complete(new Outcome(null, error))) {
            emit(new Failed(index, error));
            closeOne();
        }
    }

    private void closeOne() {
        if (open.decrementAndGet() == 0) {
            synchronized (this) {
                sink.tryEmitComplete();
            }
        }
    }

    private void emit(Event e) {
        synchronized (this) { // serialises producers; the sink only buffers, so this never blocks for long
            sink.tryEmitNext(e);
        }
    }

    /** Events of all choices, interleaved; completes after the last choice ended. Subscribe once. */
    public Flux<Event> events() {
        return sink.asFlux().doOnCancel(this::cancel);
    }

    /** Stops every choice (client went away, timeout); the engine completes them with CANCELLED usage. */
    public void cancel() {
        cancelled.set(true);
        List<RequestHandle> copy;
        synchronized (this) {
            copy = List.copyOf(handles);
        }
        copy.forEach(RequestHandle::cancel);
    }

    private volatile boolean timedOut;
    private final CompletableFuture<Void> responseEnded = new CompletableFuture<>();

    /** The HTTP side is done with this run (answered, failed, timed out or the client left). */
    public void endResponse() {
        responseEnded.complete(null);
    }

    /**
     * Every choice has ended and so has the HTTP response, so {@link #timedOut()} is final: a time limit cancels
     * the engine work before it reports the timeout, and the usage record must not call that a client cancel.
     * Waits at most 2 s for the response, so usage is recorded even if the response never signals its end.
     */
    public CompletableFuture<List<Outcome>> settled() {
        return finished().thenCompose(outcomes -> responseEnded.completeOnTimeout(null, 2, java.util.concurrent.TimeUnit.SECONDS)
                .thenApply(v -> outcomes));
    }

    /** The gateway's time limit stopped this run (recorded as an error, not a client cancellation). */
    public void markTimedOut() {
        timedOut = true;
        cancel();
    }

    public boolean timedOut() {
        return timedOut;
    }

    public boolean wasCancelled() {
        return cancelled.get();
    }

    public CompletableFuture<List<Outcome>> finished() {
        return CompletableFuture.allOf(outcomes.toArray(CompletableFuture[]::new))
                .thenApply(v -> outcomes.stream().map(CompletableFuture::join).toList());
    }

    public int n() {
        return n;
    }
}
