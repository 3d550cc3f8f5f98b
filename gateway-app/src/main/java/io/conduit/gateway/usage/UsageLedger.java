package io.conduit.gateway.usage;

import io.conduit.gateway.GatewayProperties;
import io.conduit.gateway.db.Db;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

import java.math.BigDecimal;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/**
 * Writes the one usage record of a request, exactly once: the insert is idempotent on the request id, and
 * only the transaction that actually inserted settles the budget reservations and adds to the daily rollup.
 * Cost uses the model's price in force at the request's time.
 */
@Component
public class UsageLedger {
    private static final Logger log = LoggerFactory.getLogger(UsageLedger.class);
    private final Db db;
    private final RateLimiter rateLimiter;
    private final GatewayProperties props;
    private final MeterRegistry meters;
    private final UsageSpool spool;

    public UsageLedger(Db db, RateLimiter rateLimiter, GatewayProperties props, MeterRegistry meters,
                       UsageSpool spool) {
        this.db = db;
        this.spool = spool;
        this.rateLimiter = rateLimiter;
        this.props = props;
        this.meters = meters;
    }

    /** Records with retries; emits true if this call inserted the row, false if it already existed. */
    public Mono<Boolean> record(UsageRecord r) {
        return db.inTx(jdbc -> insertAndSettle(jdbc, r))
                .retryWhen(Retry.backoff(6, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(5)))
                .doOnSuccess(inserted -> {
                    Counter.builder("conduit.usage.records").tag("status", r.status()).register(meters).increment();
                    Counter.builder("conduit.tokens").tag("model", r.model()).tag("kind", "prompt")
                            .register(meters).increment(r.promptTokens());
                    Counter.builder("conduit.tokens").tag("model", r.model()).tag("kind", "completion")
                            .register(meters).increment(r.completionTokens());
                })
                .doOnError(e -> {
                    log.error("usage record {} not written after retries; spooling it", r.requestId(), e);
                    spool.append(r);
                });
    }

    /** Spooled records (database was down) go into the ledger as soon as it takes them again. */
    @Scheduled(fixedDelayString = "PT30S", initialDelayString = "PT5S")
    public void replaySpool() {
        int n = spool.replay(r -> {
            db.inTxBlocking(jdbc -> insertAndSettle(jdbc, r));
            return true;
        });
        if (n > 0) log.info("replayed {} spooled usage records", n);
    }

    /** Fire-and-forget form used when the HTTP response is already gone. */
    public void recordAsync(UsageRecord r) {
        record(r).subscribe(x -> { }, e -> { });
    }

    static boolean insertAndSettle(JdbcTemplate jdbc, UsageRecord r) {
        Timestamp at = Timestamp.from(r.requestedAt());
        List<BigDecimal> cost = jdbc.queryForList("""
                INSERT INTO usage_records (request_id, requested_at, team_id, key_id, model, adapter, endpoint, status,
                    http_status, error_code, prompt_tokens, cached_tokens, completion_tokens, queue_ms, prefill_ms,
                    decode_ms, end_user, cost)
                SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce((
                    SELECT ((?::numeric - ?) * input_per_mtok + ?::numeric * cached_input_per_mtok
                            + ?::numeric * output_per_mtok) / 1000000
                    FROM model_prices WHERE model = ? AND effective_from <= ?
                    ORDER BY effective_from DESC LIMIT 1), 0)
                ON CONFLICT (request_id) DO NOTHING
                RETURNING cost""", BigDecimal.class,
                r.requestId(), at, r.teamId(), r.keyId(), r.model(), r.adapter() == null ? "" : r.adapter(),
                r.endpoint(), r.status(), r.httpStatus(), r.errorCode(), r.promptTokens(), r.cachedTokens(),
                r.completionTokens(), r.queueMs(), r.prefillMs(), r.decodeMs(), r.endUser(),
                r.promptTokens(), r.cachedTokens(), r.cachedTokens(), r.completionTokens(), r.model(), at);
        if (cost.isEmpty()) return false; // already recorded: settle nothing twice
        List<Map<String, Object>> held = jdbc.queryForList(
                "DELETE FROM budget_reservations WHERE request_id = ? RETURNING budget_id, period_start, tokens",
                r.requestId());
        for (Map<String, Object> h : held) {
            jdbc.update("""
                    UPDATE budget_counters SET reserved_tokens = reserved_tokens - ?, used_tokens = used_tokens + ?
                    WHERE budget_id = ? AND period_start = ?""",
                    ((Number) h.get("tokens")).longValue(), r.totalTokens(), h.get("budget_id"), h.get("period_start"));
        }
        boolean failed = !r.status().equals("ok") && !r.status().equals("cancelled");
        jdbc.update("""
                INSERT INTO usage_daily AS d (day, team_id, model, adapter, requests, failed_requests, prompt_tokens,
                    cached_tokens, completion_tokens, cost)
                VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
                ON CONFLICT (day, team_id, model, adapter) DO UPDATE SET
                    requests = d.requests + 1, failed_requests = d.failed_requests + excluded.failed_requests,
                    prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
                    cached_tokens = d.cached_tokens + excluded.cached_tokens,
                    completion_tokens = d.completion_tokens + excluded.completion_tokens,
                    cost = d.cost + excluded.cost""",
                Date.valueOf(r.requestedAt().atZone(ZoneOffset.UTC).toLocalDate()), r.teamId(), r.model(),
                r.adapter() == null ? "" : r.adapter(), failed ? 1 : 0, r.promptTokens(), r.cachedTokens(),
                r.completionTokens(), cost.getFirst());
        return true;
    }

    /**
     * Releases reservations of requests that never settled (the process died mid-request). Anything older than
     * the reservation TTL is far past the request time limit.
     */
    @Scheduled(fixedDelayString = "PT1M", initialDelayString = "PT1M")
    public void releaseStaleReservations() {
        int released = db.inTxBlocking(jdbc -> {
            List<Map<String, Object>> stale = jdbc.queryForList("""
                    DELETE FROM budget_reservations WHERE created_at < now() - make_interval(secs => ?)
                    RETURNING budget_id, period_start, tokens""", (double) props.reservationTtl().toSeconds());
            for (Map<String, Object> h : stale) {
                jdbc.update("UPDATE budget_counters SET reserved_tokens = reserved_tokens - ? "
                        + "WHERE budget_id = ? AND period_start = ?", h.get("tokens"), h.get("budget_id"),
                        h.get("period_start"));
            }
            return stale.size();
        });
        if (released > 0) log.warn("released {} stale budget reservations", released);
    }
}
