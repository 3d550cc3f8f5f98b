package io.conduit.gateway.usage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Last line of defence for the ledger: a record the database would not take after all retries is appended
 * (and fsynced) to a local JSON-lines file, and replayed later. Replays are safe because the ledger insert is
 * idempotent on the request id.
 */
@Component
public class UsageSpool {
    private static final Logger log = LoggerFactory.getLogger(UsageSpool.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;

    public UsageSpool(@Value("${conduit.usage-spool:}") String configured) {
        this.file = configured != null && !configured.isBlank() ? Path.of(configured) : defaultFile();
    }

    static Path defaultFile() {
        String dir = System.getenv("CONDUIT_DATA_DIR");
        Path base = dir != null && !dir.isBlank() ? Path.of(dir)
                : Path.of(System.getProperty("user.home"), ".local", "share", "conduit");
        return base.resolve("usage-spool.jsonl");
    }

    public Path file() {
        return file;
    }

    public synchronized void append(UsageRecord r) {
        ObjectNode o = toJson(r);
        try {
            Files.createDirectories(file.getParent());
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap((o + "\n").getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            log.warn("usage record {} spooled to {} (database unavailable)", r.requestId(), file);
        } catch (IOException e) {
            log.error("USAGE NOT RECORDED: database and spool both failed, record: {}", r, e);
        }
    }

    static ObjectNode toJson(UsageRecord r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("requestId", r.requestId());
        o.put("requestedAt", r.requestedAt().toString());
        o.put("teamId", r.teamId());
        o.put("keyId", r.keyId());
        o.put("model", r.model());
        o.put("adapter", r.adapter());
        o.put("endpoint", r.endpoint());
        o.put("status", r.status());
        o.put("httpStatus", r.httpStatus());
        o.put("errorCode", r.errorCode());
        o.put("promptTokens", r.promptTokens());
        o.put("cachedTokens", r.cachedTokens());
        o.put("completionTokens", r.completionTokens());
        o.put("queueMs", r.queueMs());
        o.put("prefillMs", r.prefillMs());
        o.put("decodeMs", r.decodeMs());
        o.put("endUser", r.endUser());
        return o;
    }

    private static String text(JsonNode n, String f) {
        JsonNode v = n.get(f);
        return v == null || v.isNull() ? null : v.asText();
    }

    static UsageRecord fromJson(JsonNode n) {
        JsonNode key = n.get("keyId");
        return new UsageRecord(text(n, "requestId"), Instant.parse(text(n, "requestedAt")), text(n, "teamId"),
                key == null || key.isNull() ? null : key.asLong(), text(n, "model"), text(n, "adapter"),
                text(n, "endpoint"), text(n, "status"), n.get("httpStatus").asInt(), text(n, "errorCode"),
                n.get("promptTokens").asInt(), n.get("cachedTokens").asInt(), n.get("completionTokens").asInt(),
                n.get("queueMs").asDouble(), n.get("prefillMs").asDouble(), n.get("decodeMs").asDouble(),
                text(n, "endUser"));
    }

    /**
     * Offers every spooled record to {@code sink} (true = stored); keeps those that failed for a later try,
     * drops (with an error log) those the database rejects as invalid.
     */
    public synchronized int replay(Predicate<UsageRecord> sink) {
        if (!Files.exists(file)) return 0;
        List<String> keep = new ArrayList<>();
        int stored = 0;
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                UsageRecord r;
                try {
                    r = fromJson(JSON.readTree(line));
                } catch (IOException | RuntimeException e) {
                    log.error("unreadable usage spool line dropped: {}", line, e);
                    continue;
                }
                try {
                    if (sink.test(r)) stored++;
                    else keep.add(line);
                } catch (DataIntegrityViolationException e) {
                    log.error("usage spool record rejected by the database, dropped: {}", line, e);
                } catch (RuntimeException e) {
                    keep.add(line);
                }
            }
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, keep, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.error("usage spool replay failed, will retry", e);
        }
        return stored;
    }
}
