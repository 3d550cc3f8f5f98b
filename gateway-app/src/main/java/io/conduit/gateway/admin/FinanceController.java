package io.conduit.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.conduit.gateway.auth.Caller;
import io.conduit.gateway.db.Db;
import io.conduit.gateway.web.ApiException;
import io.conduit.gateway.web.RequestIdFilter;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

import java.math.BigDecimal;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Prices (with effective dates) and finance reports. Reports read only the daily rollup, whose size grows
 * with days x teams x models x adapters, not with requests: a range over 10 million usage rows stays fast.
 */
@RestController
@RequestMapping("/admin/api")
@Tag(name = "Finance")
@PreAuthorize("hasAnyRole('ADMIN', 'FINANCE')")
public class FinanceController {
    private static final Set<String> DIMENSIONS = Set.of("team", "model", "adapter", "day");
    private final Db db;

    public FinanceController(Db db) {
        this.db = db;
    }

    @PostMapping("/prices")
    @Operation(summary = "Add a price for a model from effective_from on (per million tokens)")
    public Mono<ResponseEntity<String>> addPrice(@AuthenticationPrincipal Caller caller,
                                                 @RequestBody(required = false) String body,
                                                 ServerWebExchange exchange) {
        JsonNode n = Json.read(body);
        String model = Json.text(n, "model", true);
        String from = Json.text(n, "effective_from", false);
        Instant effective;
        try {
            effective = from == null ? Instant.now() : Instant.parse(from);
        } catch (DateTimeParseException e) {
            throw ApiException.invalid("'effective_from' must be an ISO-8601 instant.", "effective_from");
        }
        BigDecimal input = Json.decimal(n, "input_per_mtok");
        BigDecimal cached = n.has("cached_input_per_mtok") ? Json.decimal(n, "cached_input_per_mtok") : input;
        BigDecimal output = Json.decimal(n, "output_per_mtok");
        return db.inTx(jdbc -> {
            long id;
            try {
                id = jdbc.queryForObject("""
                        INSERT INTO model_prices (model, effective_from, input_per_mtok, cached_input_per_mtok, output_per_mtok)
                        VALUES (?, ?, ?, ?, ?) RETURNING id""", Long.class, model, Timestamp.from(effective), input,
                        cached, output);
            } catch (DuplicateKeyException e) {
                throw new ApiException(HttpStatus.CONFLICT, "invalid_request_error", "price_exists", "effective_from",
                        "A price for '" + model + "' already starts at " + effective + ".", 0);
            }
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "price.create", "model:" + model,
                    Map.of("effective_from", effective.toString(), "input_per_mtok", input,
                            "cached_input_per_mtok", cached, "output_per_mtok", output));
            return Json.status(201, jdbc.queryForMap("SELECT * FROM model_prices WHERE id = ?", id));
        });
    }

    @GetMapping("/prices")
    @Operation(summary = "Price history, newest first")
    public Mono<ResponseEntity<String>> prices(@RequestParam(required = false) String model) {
        return db.call(() -> Json.ok(Map.of("data", model == null
                ? db.jdbc().queryForList("SELECT * FROM model_prices ORDER BY model, effective_from DESC")
                : db.jdbc().queryForList("SELECT * FROM model_prices WHERE model = ? ORDER BY effective_from DESC",
                model))));
    }

    /**
     * Usage and cost over [from, to] (UTC days, inclusive), grouped by any of team, model, adapter, day.
     * {@code format=csv} returns a CSV file.
     */
    @GetMapping("/finance/usage")
    @Operation(summary = "Usage and cost by team, model, adapter and day (JSON or CSV)")
    public Mono<ResponseEntity<String>> usage(@RequestParam String from, @RequestParam String to,
                                              @RequestParam(name = "group_by", defaultValue = "team,model,day") String groupBy,
                                              @RequestParam(required = false) String team,
                                              @RequestParam(required = false) String model,
                                              @RequestParam(defaultValue = "json") String format) {
        return report(db, from, to, groupBy, team, model, format);
    }

    /** The rollup report; also serves TEAM_ADMINs their own team's usage (AdminController). */
    static Mono<ResponseEntity<String>> report(Db db, String from, String to, String groupBy, String team,
                                               String model, String format) {
        LocalDate start = date(from, "from");
        LocalDate end = date(to, "to");
        if (end.isBefore(start)) throw ApiException.invalid("'to' is before 'from'.", "to");
        List<String> dims = new ArrayList<>();
        for (String d : groupBy.split(",")) {
            String dim = d.trim();
            if (dim.isEmpty()) continue;
            if (!DIMENSIONS.contains(dim)) {
                throw ApiException.invalid("'group_by' may contain team, model, adapter, day.", "group_by");
            }
            if (!dims.contains(dim)) dims.add(dim);
        }
        if (!format.equals("json") && !format.equals("csv")) {
            throw ApiException.invalid("'format' must be json or csv.", "format");
        }
        List<String> cols = dims.stream().map(d -> d.equals("team") ? "team_id" : d).toList();
        String select = cols.isEmpty() ? "" : String.join(", ", cols) + ", ";
        String group = cols.isEmpty() ? "" : " GROUP BY " + String.join(", ", cols) + " ORDER BY " + String.join(", ", cols);
        StringBuilder where = new StringBuilder(" WHERE day BETWEEN ? AND ?");
        List<Object> args = new ArrayList<>(List.of(Date.valueOf(start), Date.valueOf(end)));
        if (team != null) {
            where.append(" AND team_id = ?");
            args.add(team);
        }
        if (model != null) {
            where.append(" AND model = ?");
            args.add(model);
        }
        String sql = "SELECT " + select + "sum(requests) AS requests, sum(failed_requests) AS failed_requests, "
                + "sum(prompt_tokens) AS prompt_tokens, sum(cached_tokens) AS cached_tokens, "
                + "sum(completion_tokens) AS completion_tokens, sum(cost) AS cost FROM usage_daily" + where + group;
        return db.call(() -> {
            List<Map<String, Object>> rows = db.jdbc().queryForList(sql, args.toArray());
            rows.removeIf(r -> r.get("requests") == null);
            if (format.equals("csv")) {
                return ResponseEntity.ok()
                        .contentType(new MediaType("text", "csv"))
                        .header(HttpHeaders.CONTENT_DISPOSITION,
                                "attachment; filename=\"conduit-usage-" + start + "-" + end + ".csv\"")
                        .body(csv(cols, rows));
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("from", start.toString());
            out.put("to", end.toString());
            out.put("group_by", dims);
            out.put("data", rows);
            return Json.ok(out);
        });
    }

    /**
     * Recomputes the daily rollup for [from, to] from the ledger (repair after manual ledger fixes). Holds an
     * exclusive lock on the rollup meanwhile, so ledger writes wait and land on top of the rebuilt rows.
     */
    @PostMapping("/finance/rollups/rebuild")
    @PreAuthorize("hasRole('ADMIN')")
    @Operation(summary = "Rebuild daily rollups from the usage ledger for a date range (ADMIN)")
    public Mono<ResponseEntity<String>> rebuild(@AuthenticationPrincipal Caller caller,
                                                @RequestBody(required = false) String body,
                                                ServerWebExchange exchange) {
        JsonNode n = Json.read(body);
        LocalDate start = date(Json.text(n, "from", true), "from");
        LocalDate end = date(Json.text(n, "to", true), "to");
        if (end.isBefore(start)) throw ApiException.invalid("'to' is before 'from'.", "to");
        return db.inTx(jdbc -> {
            jdbc.execute("LOCK TABLE usage_daily IN EXCLUSIVE MODE");
            int deleted = jdbc.update("DELETE FROM usage_daily WHERE day BETWEEN ? AND ?", Date.valueOf(start),
                    Date.valueOf(end));
            int inserted = jdbc.update("""
                    INSERT INTO usage_daily (day, team_id, model, adapter, requests, failed_requests, prompt_tokens,
                                             cached_tokens, completion_tokens, cost)
                    SELECT (requested_at AT TIME ZONE 'UTC')::date, team_id, model, adapter, count(*),
                           count(*) FILTER (WHERE status NOT IN ('ok', 'cancelled')), sum(prompt_tokens),
                           sum(cached_tokens), sum(completion_tokens), sum(cost)
                    FROM usage_records
                    WHERE requested_at >= ? AND requested_at < ?
                    GROUP BY 1, 2, 3, 4""", Timestamp.from(start.atStartOfDay(java.time.ZoneOffset.UTC).toInstant()),
                    Timestamp.from(end.plusDays(1).atStartOfDay(java.time.ZoneOffset.UTC).toInstant()));
            Audit.log(jdbc, caller, RequestIdFilter.requestId(exchange), "rollup.rebuild", "usage_daily",
                    Map.of("from", start.toString(), "to", end.toString(), "rows_before", deleted, "rows_after", inserted));
            return Json.ok(Map.of("from", start.toString(), "to", end.toString(), "rows_before", deleted,
                    "rows_after", inserted));
        });
    }

    private static LocalDate date(String s, String param) {
        try {
            return LocalDate.parse(s);
        } catch (DateTimeParseException e) {
            throw ApiException.invalid("'" + param + "' must be a date like 2026-01-31.", param);
        }
    }

    static String csv(List<String> cols, List<Map<String, Object>> rows) {
        List<String> header = new ArrayList<>(cols);
        header.addAll(List.of("requests", "failed_requests", "prompt_tokens", "cached_tokens", "completion_tokens", "cost"));
        StringBuilder sb = new StringBuilder(String.join(",", header)).append("\r\n");
        for (Map<String, Object> r : rows) {
            List<String> cells = new ArrayList<>();
            for (String h : header) {
                Object v = Json.normalize(r.get(h));
                if (v instanceof BigDecimal bd) v = bd.stripTrailingZeros().toPlainString();
                cells.add(cell(v == null ? "" : v.toString()));
            }
            sb.append(String.join(",", cells)).append("\r\n");
        }
        return sb.toString();
    }

    private static String cell(String s) {
        boolean quote = s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r");
        // Neutralise spreadsheet formulas in free-text cells (team and model names).
        if (!s.isEmpty() && "=+-@".indexOf(s.charAt(0)) >= 0 && !s.matches("-?[0-9.]+")) s = "'" + s;
        return quote ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
