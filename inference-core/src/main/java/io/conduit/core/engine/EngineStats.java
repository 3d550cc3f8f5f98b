package io.conduit.core.engine;

/**
 * A snapshot of an engine's state for metrics. Latency figures are over the engine's lifetime so far.
 */
public record EngineStats(int runningSequences, int waitingSequences, int kvBlocksTotal, int kvBlocksUsed,
                          int kvBlocksCached, long promptTokens, long cachedPromptTokens, long generatedTokens,
                          long steps, double meanStepMillis, double meanBatchSize, double meanTimeToFirstTokenMillis,
                          double meanInterTokenMillis) {

    public int kvBlocksFree() {
        return kvBlocksTotal - kvBlocksUsed;
    }

    /** Fraction of prompt tokens served from the prefix cache. */
    public double prefixCacheHitRate() {
        return promptTokens == 0 ? 0 : (double) cachedPromptTokens / promptTokens;
    }
}
