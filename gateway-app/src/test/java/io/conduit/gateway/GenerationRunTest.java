package io.conduit.gateway;

import io.conduit.core.engine.EngineOverloadedException;
import io.conduit.core.engine.EngineRequest;
import io.conduit.core.engine.EngineStats;
import io.conduit.core.engine.FinishReason;
import io.conduit.core.engine.GenerationListener;
import io.conduit.core.engine.GenerationResult;
import io.conduit.core.engine.InferenceEngine;
import io.conduit.core.engine.RequestHandle;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.sampling.SampledToken;
import io.conduit.core.sampling.SamplingParams;
import io.conduit.gateway.engine.GenerationRun;
import io.conduit.gateway.engine.ModelPool;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bridge from engine callbacks to Reactor, against a scripted engine. */
class GenerationRunTest {

    /** Accepts {@code capacity} requests, then throws EngineOverloadedException; completes on demand. */
    static final class FakeEngine implements InferenceEngine {
        final List<GenerationListener> listeners = new ArrayList<>();
        final List<Boolean> cancelled = new ArrayList<>();
        final int capacity;

        FakeEngine(int capacity) {
            this.capacity = capacity;
        }

        @Override
        public RequestHandle submit(EngineRequest request, GenerationListener listener) {
            if (listeners.size() == capacity) throw new EngineOverloadedException("full");
            int i = listeners.size();
            listeners.add(listener);
            cancelled.add(false);
            return new RequestHandle() {
                @Override
                public String requestId() {
                    return request.requestId();
                }

                @Override
                public void cancel() {
                    if (!cancelled.get(i)) {
                        cancelled.set(i, true);
                        listener.onComplete(result(FinishReason.CANCELLED, 1));
                    }
                }
            };
        }

        @Override
        public EngineStats stats() {
            return null;
        }

        @Override
        public LoadedModel model() {
            return null;
        }

        @Override
        public void close() {
        }
    }

    static GenerationResult result(FinishReason reason, int tokens) {
        return new GenerationResult(new int[]{1, 2, 3}, new int[tokens], "x".repeat(tokens), reason, List.of(), 0, 0, 0, 0);
    }

    static ModelPool.ServedModel served(InferenceEngine e) {
        return new ModelPool.ServedModel("fake", null, e, null, Set.of(), 0, null);
    }

    static List<EngineRequest> requests(int n) {
        List<EngineRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(EngineRequest.of("r-" + i, new int[]{1, 2, 3}, SamplingParams.defaults()));
        return out;
    }

    @Test
    void eventsOfAllChoicesArriveAndFinishedCompletesOnce() throws Exception {
        FakeEngine engine = new FakeEngine(2);
        GenerationRun run = new GenerationRun(2);
        run.start(served(engine), requests(2));
        StepVerifier.create(run.events())
                .then(() -> {
                    engine.listeners.get(0).onToken(new SampledToken(5, Float.NaN, List.of()), "a");
                    engine.listeners.get(1).onComplete(result(FinishReason.STOP, 1));
                    engine.listeners.get(0).onComplete(result(FinishReason.LENGTH, 2));
                })
                .expectNextMatches(e -> e instanceof GenerationRun.Token t && t.delta().equals("a"))
                .expectNextMatches(e -> e instanceof GenerationRun.Done d && d.index() == 1)
                .expectNextMatches(e -> e instanceof GenerationRun.Done d && d.index() == 0)
                .verifyComplete();
        List<GenerationRun.Outcome> outcomes = run.finished().get(1, TimeUnit.SECONDS);
        assertThat(outcomes).extracting(o -> o.result().finishReason()).containsExactly(FinishReason.LENGTH, FinishReason.STOP);
    }

    @Test
    void submitFailureCancelsTheChoicesAlreadySubmittedAndStillFinishes() throws Exception {
        FakeEngine engine = new FakeEngine(1);
        GenerationRun run = new GenerationRun(3);
        assertThatThrownBy(() -> run.start(served(engine), requests(3))).isInstanceOf(EngineOverloadedException.class);
        assertThat(engine.cancelled).containsExactly(true);
        List<GenerationRun.Outcome> outcomes = run.finished().get(1, TimeUnit.SECONDS);
        assertThat(outcomes.get(0).result().finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(outcomes.get(1).error()).isInstanceOf(EngineOverloadedException.class);
        assertThat(outcomes.get(2).error()).isInstanceOf(EngineOverloadedException.class);
    }

    @Test
    void unsubscribingCancelsEveryChoice() throws Exception {
        FakeEngine engine = new FakeEngine(2);
        GenerationRun run = new GenerationRun(2);
        run.start(served(engine), requests(2));
        StepVerifier.create(run.events()).thenCancel().verify();
        assertThat(engine.cancelled).containsExactly(true, true);
        assertThat(run.wasCancelled()).isTrue();
        assertThat(run.finished().get(1, TimeUnit.SECONDS)).allMatch(o -> o.result().finishReason() == FinishReason.CANCELLED);
    }

    @Test
    void lateEngineCallbacksAfterAnErrorAreIgnored() throws Exception {
        FakeEngine engine = new FakeEngine(1);
        GenerationRun run = new GenerationRun(1);
        run.start(served(engine), requests(1));
        engine.listeners.getFirst().onError(new IllegalStateException("engine fault"));
        engine.listeners.getFirst().onError(new IllegalStateException("again"));
        engine.listeners.getFirst().onComplete(result(FinishReason.STOP, 1));
        List<GenerationRun.Outcome> outcomes = run.finished().get(1, TimeUnit.SECONDS);
        assertThat(outcomes.getFirst().error()).hasMessage("engine fault");
        StepVerifier.create(run.events())
                .expectNextMatches(e -> e instanceof GenerationRun.Failed)
                .verifyComplete();
    }
}
