package io.conduit.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * One gateway per test JVM (Spring caches the context): real HTTP on a random port, a fresh database on the
 * real PostgreSQL, the demo model twice (the second copy with a one-request bulkhead).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "conduit.models[0].name=stories260K", "conduit.models[0].path=stories260K.gguf",
        "conduit.models[0].adapters[0]=demo",
        "conduit.models[1].name=stories-b1", "conduit.models[1].path=stories260K.gguf",
        "conduit.models[1].max-concurrent=1",
        "conduit.max-concurrent-per-model=128",
        "conduit.bootstrap-admin-key=" + GatewayTestBase.ADMIN_KEY})
public abstract class GatewayTestBase {
    public static final String ADMIN_KEY = "ck-test-bootstrap-admin-key-0001";
    protected static final ObjectMapper JSON = new ObjectMapper();
    protected static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();

    @LocalServerPort
    protected int port;

    @Autowired
    protected JdbcTemplate jdbc;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        registry.add("spring.datasource.url", TestDatabase::url);
        registry.add("spring.datasource.username", () -> "postgres");
        // A spool file per context: Spring keeps contexts (e.g. TimeLimitTest's) alive, and each one's scheduled
        // replay rewrites its spool file, which must not race another context's writes.
        java.nio.file.Path spool = java.nio.file.Path.of(System.getProperty("java.io.tmpdir"),
                "conduit-test-spool-" + UUID.randomUUID() + ".jsonl");
        registry.add("conduit.usage-spool", spool::toString);
        spool.toFile().deleteOnExit();
    }

    protected String base() {
        return "http://127.0.0.1:" + port;
    }

    protected static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    protected HttpResponse<String> post(String key, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) b.header("Authorization", "Bearer " + key);
        return send(b.build());
    }

    protected HttpResponse<String> put(String key, String path, String body) {
        return send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    protected HttpResponse<String> get(String key, String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(60)).GET();
        if (key != null) b.header("Authorization", "Bearer " + key);
        return send(b.build());
    }

    private static HttpResponse<String> send(HttpRequest r) {
        try {
            return HTTP.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    protected static JsonNode json(HttpResponse<String> r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r.body(), e);
        }
    }

    protected static String toJson(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Creates a team (as the bootstrap admin) and returns its id. */
    protected String createTeam(Map<String, ?> extra) {
        String id = unique("team");
        Map<String, Object> body = new java.util.HashMap<>(extra);
        body.put("id", id);
        HttpResponse<String> r = post(ADMIN_KEY, "/admin/api/teams", toJson(body));
        if (r.statusCode() != 201) throw new AssertionError("create team: " + r.statusCode() + " " + r.body());
        return id;
    }

    /** Creates a key and returns the response (id, key, ...). */
    protected JsonNode createKey(String asKey, String team, Map<String, ?> body) {
        HttpResponse<String> r = post(asKey, "/admin/api/teams/" + team + "/keys", toJson(body));
        if (r.statusCode() != 201) throw new AssertionError("create key: " + r.statusCode() + " " + r.body());
        return json(r);
    }

    protected String memberKey(String team) {
        return createKey(ADMIN_KEY, team, Map.of("name", "member", "role", "MEMBER")).get("key").asText();
    }

    /** The ledger is written just after the response: poll for it. */
    protected Map<String, Object> awaitUsage(String requestId) {
        return await(() -> {
            var rows = jdbc.queryForList("SELECT * FROM usage_records WHERE request_id = ?", requestId);
            return rows.isEmpty() ? null : rows.getFirst();
        }, "usage record " + requestId);
    }

    /** UTC day of a usage record, as the gateway files it in budgets and daily rollups. */
    protected static java.time.LocalDate utcDay(Map<String, Object> usageRow) {
        return ((java.sql.Timestamp) usageRow.get("requested_at")).toInstant().atZone(java.time.ZoneOffset.UTC).toLocalDate();
    }

    /** Polls until {@code probe} returns non-null; generous, as a loaded CI machine can stall for seconds. */
    protected static <T> T await(Supplier<T> probe, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            T v = probe.get();
            if (v != null) return v;
            try {
                Thread.sleep(25);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("timed out waiting for " + what);
    }
}
