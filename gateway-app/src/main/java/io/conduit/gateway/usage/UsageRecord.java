package io.conduit.gateway.usage;

import java.time.Instant;

/** One row of the ledger. {@code status}: ok, cancelled (client went away), error, rejected (never admitted). */
public record UsageRecord(String requestId, Instant requestedAt, String teamId, Long keyId, String model,
                          String adapter, String endpoint, String status, int httpStatus, String errorCode,
                          int promptTokens, int cachedTokens, int completionTokens, double queueMs,
                          double prefillMs, double decodeMs, String endUser) {
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
