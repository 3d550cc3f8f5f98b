package io.conduit.gateway.engine;

import io.conduit.core.chat.ChatTemplate;
import io.conduit.core.engine.EngineOptions;
import io.conduit.core.engine.Engines;
import io.conduit.core.engine.InferenceEngine;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.quant.Quantizer;
import io.conduit.core.model.ModelsDirectory;
import io.conduit.core.model.ModelLoader;
import io.conduit.gateway.GatewayProperties;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.annotation.DependsOn;
import org.springframework.stereotype.Component;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.LinkedHashSet;

/**
 * Loads the configured models at startup and runs each through its own engine, behind a Resilience4j
 * bulkhead (no waiting: a full bulkhead answers 503 at once).
 */
@Component
@DependsOn("db") // stopped before the database layer: engines closing on shutdown still get their usage written
public class ModelPool implements DisposableBean {
    private static final Logger log = LoggerFactory.getLogger(ModelPool.class);
    private final Map<String, ServedModel> models = new LinkedHashMap<>();
    private volatile boolean ready;

    /** @param chatTemplate the model's own template, or the ChatML fallback when it ships none */
    public record ServedModel(String name, LoadedModel model, InferenceEngine engine, Bulkhead bulkhead,
                              Set<String> adapters, long createdEpochSeconds, ChatTemplate chatTemplate) {
        public int contextLength() {
            return model.config().contextLength();
        }
    }

    public ModelPool(GatewayProperties props) {
        Path dir = modelsDir(props.modelsDir());
        for (GatewayProperties.ModelSpec spec : props.models()) {
            Path path = dir.resolve(spec.path());
            if (!Files.exists(path)) {
                throw new IllegalStateException("model '" + spec.name() + "' not found at " + path
                        + " (set CONDUIT_MODELS_DIR or conduit.models[].path)");
            }
            long t0 = System.nanoTime();
            LoadedModel model = ModelLoader.load(path, new ModelLoader.LoadOptions(
                    spec.quantize() == null ? null : Quantizer.parseTarget(spec.quantize())));
            InferenceEngine engine = Engines.start(model, engineOptions(spec));
            Bulkhead bulkhead = Bulkhead.of("engine-" + spec.name(), BulkheadConfig.custom()
                    .maxConcurrentCalls(spec.maxConcurrent() != null ? spec.maxConcurrent() : props.maxConcurrentPerModel()).maxWaitDuration(Duration.ZERO).build());
            models.put(spec.name(), new ServedModel(spec.name(), model, engine, bulkhead,
                    new LinkedHashSet<>(spec.adapters()), System.currentTimeMillis() / 1000, model.chatTemplateRenderer()));
            log.info("model {} loaded from {} in {} ms (context {})", spec.name(), path,
                    (System.nanoTime() - t0) / 1_000_000, model.config().contextLength());
        }
        ready = true;
    }

    /** The configured models directory, else the shared default (see {@link ModelsDirectory}). */
    public static Path modelsDir(String configured) {
        return ModelsDirectory.resolve(configured);
    }

    static EngineOptions engineOptions(GatewayProperties.ModelSpec spec) {
        EngineOptions d = EngineOptions.defaults();
        boolean q8 = spec.kvCacheDtype() != null && spec.kvCacheDtype().equalsIgnoreCase("q8_0");
        if (spec.kvCacheDtype() != null && !q8 && !spec.kvCacheDtype().equalsIgnoreCase("f32")) {
            throw new IllegalArgumentException("model " + spec.name() + ": kv-cache-dtype must be f32 or q8_0, not "
                    + spec.kvCacheDtype());
        }
        long bytes = spec.kvCacheMb() != null ? spec.kvCacheMb() * (1L << 20) : d.kvCacheBytes();
        return new EngineOptions(d.maxWaiting(), bytes, d.maxBatchTokens(), d.maxRunning(), q8);
    }

    public ServedModel get(String name) {
        return models.get(name);
    }

    public Collection<ServedModel> all() {
        return models.values();
    }

    public boolean ready() {
        return ready;
    }

    @Override
    public void destroy() {
        ready = false;
        for (ServedModel m : models.values()) {
            try {
                m.engine().close();
            } finally {
                m.model().close();
            }
        }
    }
}
