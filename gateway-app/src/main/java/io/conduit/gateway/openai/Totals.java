package io.conduit.gateway.openai;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.conduit.core.engine.GenerationResult;

import java.util.List;

/**
 * Usage as billed: each prompt once (as OpenAI does for n > 1), completion tokens of every choice. Results are
 * in choice order, {@code perPrompt} consecutive choices per prompt (index = prompt * n + j).
 */
record Totals(int prompt, int cached, int completion, double queueMs, double prefillMs, double decodeMs) {
    static Totals of(List<GenerationResult> results, int perPrompt) {
        int prompt = 0, cached = 0, completion = 0;
        double q = 0, p = 0, d = 0;
        int counted = -1; // last prompt group already counted
        for (int i = 0; i < results.size(); i++) {
            GenerationResult r = results.get(i);
            if (r == null) continue;
            // The first choice of a prompt that has a result counts that prompt (a failed choice has none).
            if (i / perPrompt != counted) {
                counted = i / perPrompt;
                prompt += r.promptIds().length;
                cached += Math.min(r.promptIds().length, r.cachedPromptTokens());
            }
            completion += r.tokenIds().length;
            q = Math.max(q, r.queueNanos() / 1e6);
            p = Math.max(p, r.prefillNanos() / 1e6);
            d = Math.max(d, r.decodeNanos() / 1e6);
        }
        return new Totals(prompt, cached, completion, q, p, d);
    }

    ObjectNode json() {
        return Renderer.usage(prompt, cached, completion);
    }
}
