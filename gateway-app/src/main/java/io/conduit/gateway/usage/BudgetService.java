package io.conduit.gateway.usage;

import io.conduit.gateway.auth.Caller;
import io.conduit.gateway.db.Db;
import io.conduit.gateway.web.ApiException;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

import java.sql.Date;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;

/**
 * Token budgets per team and per key, per UTC day or month. Admission reserves the request's maximum tokens
 * with a conditional UPDATE (row-locked, so concurrent requests cannot overrun); the ledger settles the actual
 * usage when the request ends.
 */
@Component
public class BudgetService {
    private final Db db;
    private final Clock clock;

    public BudgetService(Db db) {
        this.db = db;
        this.clock = Clock.systemUTC();
    }

    public static LocalDate periodStart(String period, LocalDate today) {
        return period.equals("MONTH") ? today.withDayOfMonth(1) : today;
    }

    static long secondsUntilReset(String period, LocalDate start) {
        LocalDate next = period.equals("MONTH") ? start.plusMonths(1) : start.plusDays(1);
        long s = next.atStartOfDay(ZoneOffset.UTC).toEpochSecond() - ZonedDateTime.now(ZoneOffset.UTC).toEpochSecond();
        return Math.max(1, s);
    }

    /** Reserves {@code tokens} on every budget that applies to the caller, or fails with 429 and reserves none. */
    public Mono<Void> reserve(Caller caller, String requestId, long tokens) {
        return db.inTx(jdbc -> {
            List<Map<String, Object>> budgets = jdbc.queryForList(
                    "SELECT id, period, token_limit, key_id FROM budgets WHERE team_id = ? OR key_id = ? ORDER BY id",
                    caller.teamId(), caller.keyId());
            LocalDate today = LocalDate.now(clock);
            for (Map<String, Object> b : budgets) {
                long id = ((Number) b.get("id")).longValue();
                String period = (String) b.get("period");
                long limit = ((Number) b.get("token_limit")).longValue();
                Date start = Date.valueOf(periodStart(period, today));
                jdbc.update("INSERT INTO budget_counters (budget_id, period_start) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        id, start);
                int ok = jdbc.update("""
                        UPDATE budget_counters SET reserved_tokens = reserved_tokens + ?
                        WHERE budget_id = ? AND period_start = ? AND used_tokens + reserved_tokens + ? <= ?""",
                        tokens, id, start, tokens, limit);
                if (ok == 0) {
                    String scope = b.get("key_id") != null ? "API key" : "team";
                    throw ApiException.quota("The " + scope + "'s " + (period.equals("DAY") ? "daily" : "monthly") + " token budget ("
                            + limit + " tokens) does not have room for this request (up to " + tokens
                            + " tokens). Lower max_tokens or wait for the budget to reset.",
                            secondsUntilReset(period, start.toLocalDate()));
                }
                jdbc.update("INSERT INTO budget_reservations (request_id, budget_id, period_start, tokens) VALUES (?, ?, ?, ?)",
                        requestId, id, start, tokens);
            }
            return Boolean.TRUE;
        }).then();
    }
}
