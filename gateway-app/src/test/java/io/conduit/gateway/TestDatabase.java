package io.conduit.gateway;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * A uniquely named database on the real PostgreSQL (CONDUIT_TEST_PG_URL, default 127.0.0.1:5432, user
 * postgres) for this test JVM, dropped (with its connections) when the JVM exits.
 */
final class TestDatabase {
    private static final String ADMIN_URL = System.getenv().getOrDefault("CONDUIT_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/postgres");
    private static String url;

    private TestDatabase() {
    }

    static synchronized String url() {
        if (url != null) return url;
        String name = "conduit_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        exec("CREATE DATABASE " + name);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")));
        url = ADMIN_URL.substring(0, ADMIN_URL.lastIndexOf('/') + 1) + name;
        return url;
    }

    private static void exec(String sql) {
        try (Connection c = DriverManager.getConnection(ADMIN_URL, "postgres", "");
             Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("test database: " + sql + " failed (is PostgreSQL running on "
                    + ADMIN_URL + "?)", e);
        }
    }
}
