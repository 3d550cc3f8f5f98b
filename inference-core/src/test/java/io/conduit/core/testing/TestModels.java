package io.conduit.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the shared test models live: {@code CONDUIT_MODELS_DIR}, else the first {@code shared/models}
 * found walking up from the working directory (the project sits beside {@code shared/}).
 */
public final class TestModels {
    private TestModels() {
    }

    public static Path dir() {
        String env = System.getenv("CONDUIT_MODELS_DIR");
        if (env != null && !env.isBlank()) return Path.of(env);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared/models");
            if (Files.isDirectory(candidate)) return candidate;
            candidate = p.resolveSibling("shared").resolve("models");
            if (Files.isDirectory(candidate)) return candidate;
        }
        throw new IllegalStateException("shared/models not found; set CONDUIT_MODELS_DIR");
    }

    public static Path stories260k() { return dir().resolve("stories260K.gguf"); }

    public static Path tinyStoriesQ8() { return dir().resolve("tinystories-656k-gguf/TinyStories-656K-Q8_0.gguf"); }

    public static Path tinyStoriesHf() { return dir().resolve("tinystories-656k-hf"); }

    public static JsonNode golden(String name) {
        try {
            return new ObjectMapper().readTree(dir().resolve(name).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
