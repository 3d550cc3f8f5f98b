package io.conduit.gateway;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

import java.time.Duration;
import java.util.List;

/**
 * {@code conduit.*} settings.
 *
 * @param modelsDir        where relative model paths resolve; blank = CONDUIT_MODELS_DIR, else ../shared/models
 * @param models           the models the pool loads and serves (name, path, adapters)
 * @param maxRequestBytes  larger request bodies get 413
 * @param maxConcurrentPerModel Resilience4j bulkhead size around each model's engine
 * @param queueTimeout     engine deadline: a request not scheduled by then fails with 503
 * @param requestTimeout   Resilience4j time limit for a whole generation
 * @param dbThreads        threads of the bounded scheduler that runs JDBC off the event loop
 * @param reservationTtl   budget reservations older than this (crashed requests) are released
 */
@ConfigurationProperties("conduit")
public record GatewayProperties(
        @DefaultValue("") String modelsDir,
        List<ModelSpec> models,
        @DefaultValue("1048576") int maxRequestBytes,
        @DefaultValue("64") int maxConcurrentPerModel,
        @DefaultValue("30s") Duration queueTimeout,
        @DefaultValue("300s") Duration requestTimeout,
        @DefaultValue("16") int dbThreads,
        @DefaultValue("15m") Duration reservationTtl,
        String bootstrapAdminKey) {

    public GatewayProperties {
        models = models == null || models.isEmpty()
                ? List.of(new ModelSpec("stories260K", "stories260K.gguf", List.of(), null, null, null, null))
                : List.copyOf(models);
    }

    /**
     * @param maxConcurrent this model's bulkhead size; null = {@code maxConcurrentPerModel}
     * @param quantize      q8_0 or q4_0 to quantize F32/F16/BF16 weights while loading; null = as stored
     * @param kvCacheMb     the engine's KV-cache budget in MiB; null = the engine default (256)
     * @param kvCacheDtype  f32 (default) or q8_0 (int8 with a scale per 32 values: ~3.5x more tokens)
     */
    public record ModelSpec(String name, String path, List<String> adapters, Integer maxConcurrent, String quantize,
                            Integer kvCacheMb, String kvCacheDtype) {
        public ModelSpec {
            adapters = adapters == null ? List.of() : List.copyOf(adapters);
        }
    }
}
