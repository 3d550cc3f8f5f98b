package io.conduit.core.engine;

import io.conduit.core.sampling.SamplingParams;

import java.time.Instant;
import java.util.Objects;

/**
 * One request to an {@link InferenceEngine}.
 *
 * @param requestId      unique id, carried into logs and usage records
 * @param promptIds      the tokenized prompt (BOS included if wanted)
 * @param tenant         the team the request is for: the unit of fair sharing
 * @param tenantWeight   the tenant's relative share when requests wait (1.0 normally)
 * @param adapterId      the LoRA adapter to apply, or null for the base model
 * @param adapterDigest  content digest of that adapter (prefix-cache key), or null
 * @param cacheNamespace prefix-cache namespace; null means the tenant's own. Use {@link #SHARED_NAMESPACE}
 *                       only for prompts meant to be shared across teams (org-wide system prompts).
 * @param deadline       when the request must have started generating, or null for no deadline
 */
public record EngineRequest(String requestId, int[] promptIds, SamplingParams params, String tenant,
                            double tenantWeight, String adapterId, String adapterDigest, String cacheNamespace,
                            Instant deadline) {
    public static final String SHARED_NAMESPACE = "__shared__";

    public EngineRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptIds, "promptIds");
        Objects.requireNonNull(params, "params");
        tenant = tenant == null ? "default" : tenant;
        if (!(tenantWeight > 0)) tenantWeight = 1.0;
    }

    /** A request for the base model with no tenant, adapter or deadline (tools and tests). */
    public static EngineRequest of(String requestId, int[] promptIds, SamplingParams params) {
        return new EngineRequest(requestId, promptIds, params, "default", 1.0, null, null, null, null);
    }

    /** The namespace prefix-cache blocks of this request live in. */
    public String effectiveNamespace() {
        return cacheNamespace != null ? cacheNamespace : "tenant:" + tenant;
    }
}
