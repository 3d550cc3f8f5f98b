package io.conduit.core.model;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the shared models are: an explicit setting, else {@code CONDUIT_MODELS_DIR}, else {@code ../shared/models}
 * beside the project (the launcher passes the project root as {@code conduit.home}), else the first
 * {@code shared/models} found walking up from the working directory.
 */
public final class ModelsDirectory {
    /** The demo model every default configuration serves. */
    public static final String DEMO_MODEL = "stories260K.gguf";

    private ModelsDirectory() {
    }

    public static Path resolve(String configured) {
        if (configured != null && !configured.isBlank()) return Path.of(configured);
        String env = System.getenv("CONDUIT_MODELS_DIR");
        if (env != null && !env.isBlank()) return Path.of(env);
        String home = System.getProperty("conduit.home");
        if (home != null) {
            Path p = Path.of(home).toAbsolutePath().resolveSibling("shared").resolve("models");
            if (Files.isDirectory(p)) return p;
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolveSibling("shared").resolve("models");
            if (Files.isDirectory(candidate)) return candidate;
        }
        return Path.of("../shared/models");
    }

    public static Path demoModel() {
        return resolve(null).resolve(DEMO_MODEL);
    }
}
