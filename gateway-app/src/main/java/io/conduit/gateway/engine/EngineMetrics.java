package io.conduit.gateway.engine;

import io.conduit.core.engine.EngineStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.stereotype.Component;

import java.util.function.ToDoubleFunction;

/**
 * Engine and bulkhead metrics per configured model. The only label is the model name, taken from the
 * configuration (never from a request), so the label set stays bounded.
 */
@Component
public class EngineMetrics implements MeterBinder {
    private final ModelPool pool;

    public EngineMetrics(ModelPool pool) {
        this.pool = pool;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (ModelPool.ServedModel m : pool.all()) {
            gauge(registry, m, "conduit.engine.running", "sequences being generated", EngineStats::runningSequences);
            gauge(registry, m, "conduit.engine.waiting", "sequences waiting for the engine", EngineStats::waitingSequences);
            gauge(registry, m, "conduit.engine.kv.blocks.total", "KV cache blocks", EngineStats::kvBlocksTotal);
            gauge(registry, m, "conduit.engine.kv.blocks.used", "KV cache blocks in use", EngineStats::kvBlocksUsed);
            gauge(registry, m, "conduit.engine.kv.blocks.cached", "KV blocks kept for prefix reuse", EngineStats::kvBlocksCached);
            gauge(registry, m, "conduit.engine.prefix.cache.hit.ratio", "prompt tokens served from the prefix cache",
                    EngineStats::prefixCacheHitRate);
            gauge(registry, m, "conduit.engine.step.mean.ms", "mean scheduler step time", EngineStats::meanStepMillis);
            gauge(registry, m, "conduit.engine.batch.mean.size", "mean sequences per step", EngineStats::meanBatchSize);
            gauge(registry, m, "conduit.engine.ttft.mean.ms", "mean time to first token", EngineStats::meanTimeToFirstTokenMillis);
            gauge(registry, m, "conduit.engine.itl.mean.ms", "mean inter-token latency", EngineStats::meanInterTokenMillis);
            counter(registry, m, "conduit.engine.prompt.tokens", "prompt tokens processed", EngineStats::promptTokens);
            counter(registry, m, "conduit.engine.cached.prompt.tokens", "prompt tokens from the prefix cache",
                    EngineStats::cachedPromptTokens);
            counter(registry, m, "conduit.engine.generated.tokens", "tokens generated", EngineStats::generatedTokens);
            counter(registry, m, "conduit.engine.steps", "scheduler steps", EngineStats::steps);
            Gauge.builder("conduit.bulkhead.available", m, x -> x.bulkhead().getMetrics().getAvailableConcurrentCalls())
                    .description("free slots in the model's Resilience4j bulkhead").tag("model", m.name()).register(registry);
            Gauge.builder("conduit.bulkhead.max", m, x -> x.bulkhead().getMetrics().getMaxAllowedConcurrentCalls())
                    .tag("model", m.name()).register(registry);
        }
    }

    private static void gauge(MeterRegistry r, ModelPool.ServedModel m, String name, String help,
                              ToDoubleFunction<EngineStats> f) {
        Gauge.builder(name, m, x -> f.applyAsDouble(x.engine().stats())).description(help).tag("model", m.name())
                .register(r);
    }

    private static void counter(MeterRegistry r, ModelPool.ServedModel m, String name, String help,
                                ToDoubleFunction<EngineStats> f) {
        FunctionCounter.builder(name, m, x -> f.applyAsDouble(x.engine().stats())).description(help)
                .tag("model", m.name()).register(r);
    }
}
