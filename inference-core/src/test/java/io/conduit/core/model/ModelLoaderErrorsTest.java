package io.conduit.core.model;

import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.synthetic.SyntheticModelWriter;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every way a model can be unusable gives a ModelFormatException that names the file and the problem. */
class ModelLoaderErrorsTest {
    static final ModelShape TINY = new ModelShape("tiny", "llama", 64, 1, 4, 2, 128, 300, 128);

    @TempDir
    Path tmp;

    @Test
    void missingPath() {
        assertThatThrownBy(() -> ModelLoader.load(tmp.resolve("absent.gguf")))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("model not found").hasMessageContaining("absent.gguf");
    }

    @Test
    void fileThatIsNotAModel() throws IOException {
        Path p = Files.writeString(tmp.resolve("notes.txt"), "hello");
        assertThatThrownBy(() -> ModelLoader.load(p))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("not a model");
    }

    @Test
    void unsupportedArchitecture() {
        Path p = tmp.resolve("falcon.gguf");
        new SyntheticModelWriter(new ModelShape("f", "falcon", 64, 1, 4, 2, 128, 300, 128), GgmlType.F32, 1).write(p);
        assertThatThrownBy(() -> ModelLoader.load(p))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("unsupported architecture 'falcon'");
    }

    @Test
    void unsupportedTensorTypeIsNamed() throws IOException {
        Path p = synthetic();
        patchTensorType(p, "blk.0.ffn_up.weight", GgmlType.Q5_0.id());
        assertThatThrownBy(() -> ModelLoader.load(p))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("tensor blk.0.ffn_up.weight has type Q5_0, which Conduit does not support");
        patchTensorType(p, "blk.0.ffn_up.weight", 77);
        assertThatThrownBy(() -> ModelLoader.load(p))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("has type unknown type #77");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path p = synthetic();
        byte[] bytes = Files.readAllBytes(p);
        int at = indexOf(bytes, "blk.0.ffn_up.weight".getBytes(StandardCharsets.US_ASCII));
        bytes[at + "blk.0.ffn_up.weigh".length()] = 'X';
        Files.write(p, bytes);
        assertThatThrownBy(() -> ModelLoader.load(p))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor blk.0.ffn_up.weight is missing");
    }

    @Test
    void truncatedGgufModel() throws IOException {
        Path p = synthetic();
        byte[] bytes = Files.readAllBytes(p);
        Files.write(p, Arrays.copyOf(bytes, bytes.length - 100));
        assertThatThrownBy(() -> ModelLoader.load(p))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("truncated");
    }

    @Test
    void hfConfigThatDisagreesWithTheWeights() throws IOException {
        Path dir = hfCopy();
        String cfg = Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\": 384", "\"intermediate_size\": 512");
        Files.writeString(dir.resolve("config.json"), cfg);
        assertThatThrownBy(() -> ModelLoader.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("tensor model.layers.0.mlp.gate_proj.weight has shape [128, 384] but the model config needs [128, 512]");
    }

    @Test
    void hfUnsupportedModelTypeAndBrokenJson() throws IOException {
        Path dir = hfCopy();
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"model_type\": \"llama\"", "\"model_type\": \"gpt_neox\""));
        assertThatThrownBy(() -> ModelLoader.load(dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("unsupported model_type 'gpt_neox'");
        Files.writeString(dir.resolve("config.json"), "{ not json");
        assertThatThrownBy(() -> ModelLoader.load(dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("invalid JSON");
        Files.delete(dir.resolve("config.json"));
        assertThatThrownBy(() -> ModelLoader.load(dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("config.json is missing");
    }

    @Test
    void truncatedAndCorruptSafetensors() throws IOException {
        Path dir = hfCopy();
        Path st = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(TestModels.tinyStoriesHf().resolve("model.safetensors"));
        Files.write(st, Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> ModelLoader.load(dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("truncated");
        byte[] corrupt = bytes.clone();
        ByteBuffer.wrap(corrupt, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Files.write(st, corrupt);
        assertThatThrownBy(() -> ModelLoader.load(dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("not safetensors");
        byte[] garbled = bytes.clone();
        garbled[8] = '#';
        Files.write(st, garbled);
        assertThatThrownBy(() -> ModelLoader.load(dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("corrupt safetensors header");
    }

    private Path synthetic() {
        Path p = tmp.resolve("tiny.gguf");
        new SyntheticModelWriter(TINY, GgmlType.F32, 5).write(p);
        return p;
    }

    /** A writable copy of the shared HF checkpoint (weights copied, the originals are read-only). */
    private Path hfCopy() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("hf"));
        try (var files = Files.list(TestModels.tinyStoriesHf())) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        return dir;
    }

    private static void patchTensorType(Path p, String tensor, int typeId) throws IOException {
        byte[] bytes = Files.readAllBytes(p);
        byte[] name = tensor.getBytes(StandardCharsets.US_ASCII);
        int typePos = indexOf(bytes, name) + name.length + 4 + 2 * 8; // name, n_dims, two dims
        ByteBuffer.wrap(bytes, typePos, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(typeId);
        Files.write(p, bytes);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
