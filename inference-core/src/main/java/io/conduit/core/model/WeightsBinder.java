package io.conduit.core.model;

import io.conduit.core.model.TensorNaming.LayerTensor;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.TensorCodec;
import io.conduit.core.tensor.WeightMatrix;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Binds a model's tensors to {@link ModelWeights}, checking every shape against the config and every type
 * against what the engine supports, so a mismatched file fails at load time with the tensor's name.
 */
public final class WeightsBinder {
    private final TensorLookup lookup;
    private final TensorNaming naming;
    private final ModelConfig config;

    public WeightsBinder(TensorLookup lookup, TensorNaming naming, ModelConfig config) {
        this.lookup = lookup;
        this.naming = naming;
        this.config = config;
    }

    public ModelWeights bind() {
        ModelConfig c = config;
        WeightMatrix embedding = matrixOrNull(naming.embedding, c.vocabSize(), c.dim());
        WeightMatrix output = c.tiedEmbeddings() ? null : matrixOrNull(naming.output, c.vocabSize(), c.dim());
        // Tied models may carry only one of the two names (TinyStories' safetensors keep just lm_head).
        if (embedding == null) embedding = matrixOrNull(naming.output, c.vocabSize(), c.dim());
        if (embedding == null) throw missing(naming.embedding);
        if (output == null) output = embedding;
        LayerWeights[] layers = new LayerWeights[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            layers[l] = new LayerWeights(
                    vector(naming.layer(l, LayerTensor.ATTN_NORM), c.dim()),
                    matrix(naming.layer(l, LayerTensor.WQ), c.qDim(), c.dim()),
                    matrix(naming.layer(l, LayerTensor.WK), c.kvDim(), c.dim()),
                    matrix(naming.layer(l, LayerTensor.WV), c.kvDim(), c.dim()),
                    matrix(naming.layer(l, LayerTensor.WO), c.dim(), c.qDim()),
                    c.qkvBias() ? vector(naming.layer(l, LayerTensor.BQ), c.qDim()) : null,
                    c.qkvBias() ? vector(naming.layer(l, LayerTensor.BK), c.kvDim()) : null,
                    c.qkvBias() ? vector(naming.layer(l, LayerTensor.BV), c.kvDim()) : null,
                    vector(naming.layer(l, LayerTensor.FFN_NORM), c.dim()),
                    matrix(naming.layer(l, LayerTensor.GATE), c.ffnDim(), c.dim()),
                    matrix(naming.layer(l, LayerTensor.UP), c.ffnDim(), c.dim()),
                    matrix(naming.layer(l, LayerTensor.DOWN), c.dim(), c.ffnDim()));
        }
        return new ModelWeights(embedding, layers, vector(naming.outputNorm, c.dim()), output);
    }

    private WeightMatrix matrix(String name, int rows, int cols) {
        WeightMatrix m = matrixOrNull(name, rows, cols);
        if (m == null) throw missing(name);
        return m;
    }

    private WeightMatrix matrixOrNull(String name, int rows, int cols) {
        TensorRef t = lookup.find(name);
        if (t == null) return null;
        checkShape(t, cols, rows);
        GgmlType type = supportedType(t);
        if (cols % type.blockSize() != 0) {
            throw new ModelFormatException(lookup.source() + ": tensor " + name + " row length " + cols
                    + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        return WeightMatrix.of(name, t.segment(), t.offset(), type, rows, cols);
    }

    /** Reads a 1-D tensor (norm weights, biases) into floats, whatever its stored type. */
    private float[] vector(String name, int length) {
        TensorRef t = lookup.find(name);
        if (t == null) throw missing(name);
        checkShape(t, length);
        GgmlType type = supportedType(t);
        float[] out = new float[length];
        TensorCodec.of(type).dequantize(t.segment(), t.offset(), out, 0, length);
        return out;
    }

    /** Reads an optional 1-D float tensor, or null if the model has none. */
    public float[] optionalVector(String name, int length) {
        return lookup.find(name) == null ? null : vector(name, length);
    }

    private GgmlType supportedType(TensorRef t) {
        if (t.type() == null || !t.type().supported()) {
            String supported = Arrays.stream(GgmlType.values()).filter(GgmlType::supported)
                    .map(Enum::name).collect(Collectors.joining(", "));
            throw new ModelFormatException(lookup.source() + ": tensor " + t.name() + " has type " + t.typeName()
                    + ", which Conduit does not support (supported: " + supported + ")");
        }
        return t.type();
    }

    private void checkShape(TensorRef t, long... expected) {
        if (!Arrays.equals(t.dims(), expected)) {
            throw new ModelFormatException(lookup.source() + ": tensor " + t.name() + " has shape " + t.shape()
                    + " but the model config needs " + Arrays.toString(expected));
        }
    }

    private ModelFormatException missing(String name) {
        return new ModelFormatException(lookup.source() + ": tensor " + name + " is missing");
    }
}
