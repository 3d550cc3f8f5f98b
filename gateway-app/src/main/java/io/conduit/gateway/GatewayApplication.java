package io.conduit.gateway;

import io.conduit.gateway.db.EmbeddedDatabase;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * The Conduit gateway. {@code main} picks the database before Spring starts: {@code CONDUIT_DB_URL} when set,
 * else an embedded PostgreSQL whose data directory survives restarts (usage must never be lost).
 */
@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class GatewayApplication {

    public static void main(String[] args) {
        args = Cli.apply(args);
        EmbeddedDatabase.configureIfNeeded();
        SpringApplication.run(GatewayApplication.class, args);
    }

    /** Maps the launcher's {@code --port N} to Spring's {@code --server.port=N}; other args pass through. */
    static final class Cli {
        static String[] apply(String[] args) {
            java.util.List<String> out = new java.util.ArrayList<>();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("--port") && i + 1 < args.length) {
                    out.add("--server.port=" + args[++i]);
                } else if (a.startsWith("--port=")) {
                    out.add("--server.port=" + a.substring("--port=".length()));
                } else {
                    out.add(a);
                }
            }
            return out.toArray(String[]::new);
        }
    }
}
