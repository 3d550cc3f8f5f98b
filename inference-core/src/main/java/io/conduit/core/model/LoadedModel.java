package io.conduit.core.model;

import io.conduit.core.chat.ChatTemplate;
import io.conduit.core.tokenizer.Tokenizer;

import java.util.List;

/**
 * A model ready to run: its configuration, weights (mapped in place), tokenizer and chat template source.
 * Closing it unmaps the files; nothing may use the weights afterwards.
 *
 * @param chatTemplate the model's own Jinja chat template, or null when it has none
 */
public record LoadedModel(String name, ModelConfig config, ModelWeights weights, Tokenizer tokenizer,
                          String chatTemplate, List<AutoCloseable> resources) implements AutoCloseable {

    /** The model's chat template ready to render (the documented ChatML fallback when it has none). */
    public ChatTemplate chatTemplateRenderer() {
        return ChatTemplate.fromSource(chatTemplate, tokenizer.bosId() >= 0 ? tokenizer.tokenText(tokenizer.bosId()) : "",
                tokenizer.eosId() >= 0 ? tokenizer.tokenText(tokenizer.eosId()) : "");
    }

    @Override
    public void close() {
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception ignored) {
                // Unmapping failures leave nothing to recover; the process keeps running.
            }
        }
    }
}
