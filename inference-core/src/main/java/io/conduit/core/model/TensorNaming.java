package io.conduit.core.model;

/** How a file format names the tensors of a Llama-family model. */
public enum TensorNaming {
    GGUF("token_embd.weight", "output_norm.weight", "output.weight", "blk.%d.") {
        @Override
        String layerSuffix(LayerTensor t) {
            return switch (t) {
                case ATTN_NORM -> "attn_norm.weight";
                case WQ -> "attn_q.weight";
                case WK -> "attn_k.weight";
                case WV -> "attn_v.weight";
                case WO -> "attn_output.weight";
                case BQ -> "attn_q.bias";
                case BK -> "attn_k.bias";
                case BV -> "attn_v.bias";
                case FFN_NORM -> "ffn_norm.weight";
                case GATE -> "ffn_gate.weight";
                case UP -> "ffn_up.weight";
                case DOWN -> "ffn_down.weight";
            };
        }
    },
    HUGGING_FACE("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers.%d.") {
        @Override
        String layerSuffix(LayerTensor t) {
            return switch (t) {
                case ATTN_NORM -> "input_layernorm.weight";
                case WQ -> "self_attn.q_proj.weight";
                case WK -> "self_attn.k_proj.weight";
                case WV -> "self_attn.v_proj.weight";
                case WO -> "self_attn.o_proj.weight";
                case BQ -> "self_attn.q_proj.bias";
                case BK -> "self_attn.k_proj.bias";
                case BV -> "self_attn.v_proj.bias";
                case FFN_NORM -> "post_attention_layernorm.weight";
                case GATE -> "mlp.gate_proj.weight";
                case UP -> "mlp.up_proj.weight";
                case DOWN -> "mlp.down_proj.weight";
            };
        }
    };

    public enum LayerTensor { ATTN_NORM, WQ, WK, WV, WO, BQ, BK, BV, FFN_NORM, GATE, UP, DOWN }

    final String embedding;
    final String outputNorm;
    final String output;
    private final String layerPrefix;

    TensorNaming(String embedding, String outputNorm, String output, String layerPrefix) {
        this.embedding = embedding;
        this.outputNorm = outputNorm;
        this.output = output;
        this.layerPrefix = layerPrefix;
    }

    abstract String layerSuffix(LayerTensor t);

    String layer(int layer, LayerTensor t) {
        return layerPrefix.formatted(layer) + layerSuffix(t);
    }
}
