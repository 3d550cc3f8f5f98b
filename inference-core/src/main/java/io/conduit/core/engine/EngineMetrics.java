package io.conduit.core.engine;

/** Running totals for {@link EngineStats}, updated by the engine loop only. */
final class EngineMetrics {
    long steps;
    long stepNanos;
    long batchSequences;
    long promptTokens;
    long cachedPromptTokens;
    long generatedTokens;
    long firstTokens;
    long timeToFirstTokenNanos;
    long interTokenIntervals;
    long interTokenNanos;

    void step(long nanos, int sequences) {
        steps++;
        stepNanos += nanos;
        batchSequences += sequences;
    }

    double mean(long total, long count, double scale) {
        return count == 0 ? 0 : total / (double) count / scale;
    }
}
