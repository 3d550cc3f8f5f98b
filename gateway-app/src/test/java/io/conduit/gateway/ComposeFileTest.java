package io.conduit.gateway;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * docker-compose.yml: its structure (always), and `docker compose config` (or docker-compose v1) accepting it
 * and rejecting a broken copy, where a compose CLI is installed. No Docker engine is needed for either.
 */
class ComposeFileTest {

    static Path composeFile() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve("docker-compose.yml")) && Files.exists(p.resolve("gateway-app"))) {
                return p.resolve("docker-compose.yml");
            }
        }
        throw new AssertionError("docker-compose.yml not found above " + Path.of("").toAbsolutePath());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o, String key) {
        Object v = ((Map<String, Object>) o).get(key);
        assertThat(v).as(key).isInstanceOf(Map.class);
        return (Map<String, Object>) v;
    }

    @Test
    @SuppressWarnings("unchecked")
    void composeRunsTheGatewayWithPostgresAndAModelsVolume() throws IOException {
        Map<String, Object> doc = new Yaml().load(Files.readString(composeFile()));
        Map<String, Object> services = map(doc, "services");
        assertThat(services).containsKeys("gateway", "postgres");
        Map<String, Object> gw = map(services, "gateway");
        assertThat((String) gw.get("image")).startsWith("conduit/gateway");
        Map<String, Object> env = map(gw, "environment");
        assertThat((String) env.get("CONDUIT_DB_URL")).startsWith("jdbc:postgresql://postgres:5432/");
        assertThat(env.get("CONDUIT_MODELS_DIR")).isEqualTo("/models");
        assertThat((List<String>) gw.get("volumes")).contains("models:/models:ro");
        assertThat(map(map(gw, "depends_on"), "postgres").get("condition")).isEqualTo("service_healthy");
        assertThat(map(doc, "volumes")).containsKeys("models", "pgdata");
        assertThat(Files.exists(composeFile().resolveSibling("gateway-app").resolve("Dockerfile"))).isTrue();
    }

    private static List<String> composeCommand() {
        for (List<String> cmd : List.of(List.of("docker", "compose"), List.of("docker-compose"))) {
            try {
                List<String> version = new ArrayList<>(cmd);
                version.add("version");
                Process p = new ProcessBuilder(version).redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) return cmd;
            } catch (IOException | InterruptedException ignored) {
                // not installed: try the next form
            }
        }
        return null;
    }

    private static Result config(List<String> cmd, Path file, Path models) throws Exception {
        List<String> full = new ArrayList<>(cmd);
        full.addAll(List.of("-f", file.toString(), "config"));
        ProcessBuilder pb = new ProcessBuilder(full).directory(composeFile().getParent().toFile());
        pb.environment().put("CONDUIT_MODELS_HOST_DIR", models.toString());
        pb.environment().put("CONDUIT_BOOTSTRAP_ADMIN_KEY", "ck-compose-test-key-000");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out, err);
    }

    record Result(int exit, String out, String err) {
    }

    @Test
    void composeConfigValidatesTheFileAndRejectsABrokenOne(@TempDir Path tmp) throws Exception {
        List<String> cmd = composeCommand();
        assumeTrue(cmd != null, "no docker compose / docker-compose CLI installed");
        Result ok = config(cmd, composeFile(), tmp);
        assertThat(ok.exit()).as(ok.err()).isZero();
        Map<String, Object> resolved = new Yaml().load(ok.out());
        Map<String, Object> gw = map(map(resolved, "services"), "gateway");
        assertThat(map(gw, "environment").get("CONDUIT_BOOTSTRAP_ADMIN_KEY")).isEqualTo("ck-compose-test-key-000");
        assertThat(ok.out()).contains(tmp.toString()); // the models volume binds the given host directory

        Path broken = tmp.resolve("docker-compose.yml");
        Files.writeString(broken, Files.readString(composeFile())
                .replace("condition: service_healthy", "condition: service_healthy\n      redis:\n        condition: service_started"));
        Result bad = config(cmd, broken, tmp);
        assertThat(bad.exit()).as("config must reject a dependency on an undefined service").isNotZero();
    }
}
