package io.conduit.gateway.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The default database for {@code ./conduit serve}: an embedded PostgreSQL (zonky) with a persistent data
 * directory ({@code $CONDUIT_DATA_DIR/pgdata}, default {@code ~/.local/share/conduit/pgdata}: outside the
 * work tree, so neither git nor {@code mvn clean} ever touches the ledger). Skipped when
 * {@code CONDUIT_DB_URL} or {@code spring.datasource.url} is given. Zonky runs the server through
 * {@code unshare} as an unprivileged user when we are root.
 */
public final class EmbeddedDatabase {
    private static EmbeddedPostgres postgres;

    private EmbeddedDatabase() {
    }

    public static synchronized void configureIfNeeded() {
        String url = System.getenv("CONDUIT_DB_URL");
        if (url != null && !url.isBlank()) {
            System.setProperty("spring.datasource.url", url);
            return;
        }
        if (System.getProperty("spring.datasource.url") != null || postgres != null) return;
        Path dataDir = dataDir();
        try {
            Files.createDirectories(dataDir);
            postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDir)
                    .setCleanDataDirectory(false)
                    .setPort(Integer.parseInt(env("CONDUIT_EMBEDDED_DB_PORT", "0")))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the embedded PostgreSQL in " + dataDir
                    + " (set CONDUIT_DB_URL to use a server instead)", e);
        }
        System.setProperty("spring.datasource.url", postgres.getJdbcUrl("postgres", "postgres"));
        System.setProperty("spring.datasource.username", "postgres");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                postgres.close();
            } catch (IOException ignored) {
                // the process is exiting anyway
            }
        }, "embedded-postgres-stop"));
    }

    static Path dataDir() {
        String dir = System.getenv("CONDUIT_DATA_DIR");
        if (dir != null && !dir.isBlank()) return Path.of(dir).resolve("pgdata");
        String xdg = System.getenv("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("conduit").resolve("pgdata");
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : v;
    }
}
