package io.conduit.core.tokenizer;

import io.conduit.core.gguf.GgufFile;
import io.conduit.core.testing.TestModels;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Loads the shared real models (read-only, located by {@link TestModels}: CONDUIT_MODELS_DIR or a walk up to shared/models). */
final class RealModels {
    private RealModels() {}

    static Map<String, Object> ggufMetadata(Path file) {
        try (GgufFile f = GgufFile.open(file)) {
            return new HashMap<>(f.metadata());
        }
    }

    static Tokenizer stories260k() {
        return Tokenizers.fromGgufMetadata(ggufMetadata(TestModels.stories260k()));
    }

    static Tokenizer tinyStoriesQ8Gguf() {
        return Tokenizers.fromGgufMetadata(ggufMetadata(TestModels.tinyStoriesQ8()));
    }

    static Tokenizer tinyStoriesHf() {
        return Tokenizers.fromTokenizerJson(TestModels.tinyStoriesHf().resolve("tokenizer.json"));
    }

    static int[] prepend(int first, int[] rest) {
        int[] out = new int[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    static String streamAll(Tokenizer tok, int[] ids, boolean skipSpecial) {
        StreamingDecoder d = tok.streamingDecoder(skipSpecial);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(d.feed(id));
        }
        return sb.append(d.flush()).toString();
    }
}
