package io.conduit.gateway;

import io.conduit.gateway.db.Db;
import io.conduit.gateway.usage.RateLimiter;
import io.conduit.gateway.usage.UsageLedger;
import io.conduit.gateway.usage.UsageRecord;
import io.conduit.gateway.usage.UsageSpool;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Records spooled while the database was unavailable reach the ledger exactly once when replayed. */
class UsageSpoolTest extends GatewayTestBase {
    @Autowired
    Db db;
    @Autowired
    RateLimiter rateLimiter;
    @Autowired
    GatewayProperties props;
    @Autowired
    MeterRegistry meters;

    @Test
    void spooledRecordsAreReplayedOnceAndTheSpoolEmpties(@TempDir Path dir) throws Exception {
        // A spool and ledger of the test's own, on the real database: the context's ledger replays its spool on a
        // schedule (every 30 s), which could empty the file between the appends and the checks below.
        UsageSpool spool = new UsageSpool(dir.resolve("usage-spool.jsonl").toString());
        UsageLedger ledger = new UsageLedger(db, rateLimiter, props, meters, spool);
        String team = createTeam(Map.of());
        String id = UUID.randomUUID().toString().replace("-", "");
        UsageRecord r = new UsageRecord(id, Instant.parse("2026-03-04T05:06:07Z"), team, null, "stories260K", null,
                "completions", "ok", 200, null, 11, 3, 7, 1.5, 2.5, 3.5, "bob");
        spool.append(r);
        spool.append(r); // the same record twice (e.g. spooled by two retries) must still count once
        assertThat(Files.readAllLines(spool.file())).hasSize(2);
        ledger.replaySpool();
        ledger.replaySpool();
        assertThat(Files.readAllLines(spool.file())).isEmpty();
        Map<String, Object> row = jdbc.queryForMap("SELECT * FROM usage_records WHERE request_id = ?", id);
        assertThat(row.get("end_user")).isEqualTo("bob");
        assertThat(((Number) row.get("completion_tokens")).intValue()).isEqualTo(7);
        assertThat(utcDay(row)).hasToString("2026-03-04"); // in UTC, whatever the JVM's default time zone
        Map<String, Object> daily = jdbc.queryForMap(
                "SELECT requests, prompt_tokens FROM usage_daily WHERE team_id = ? AND day = DATE '2026-03-04'", team);
        assertThat(((Number) daily.get("requests")).longValue()).isEqualTo(1);
        assertThat(((Number) daily.get("prompt_tokens")).longValue()).isEqualTo(11);
    }
}
