package io.conduit.core.engine;

/**
 * How an engine is sized.
 *
 * @param maxWaiting      requests that may wait before submit() is refused with EngineOverloadedException
 * @param kvCacheBytes    memory budget of the paged KV cache
 * @param maxBatchTokens  tokens one scheduler step may process (decode tokens plus prefill chunks)
 * @param maxRunning      sequences that may run at once
 * @param quantizedKv     keep keys and values as int8 with a scale per 32 values (Q8_0-style): ~3.5x more
 *                        tokens in the same budget, at a small cost in precision
 */
public record EngineOptions(int maxWaiting, long kvCacheBytes, int maxBatchTokens, int maxRunning, boolean quantizedKv) {
    public EngineOptions(int maxWaiting, long kvCacheBytes, int maxBatchTokens, int maxRunning) {
        this(maxWaiting, kvCacheBytes, maxBatchTokens, maxRunning, false);
    }

    public static EngineOptions defaults() {
        return new EngineOptions(256, 256L << 20, 512, 64);
    }

    public EngineOptions withQuantizedKv(boolean quantized) {
        return new EngineOptions(maxWaiting, kvCacheBytes, maxBatchTokens, maxRunning, quantized);
    }
}
