package io.conduit.gateway.openai;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.conduit.core.engine.FinishReason;
import io.conduit.core.engine.GenerationResult;
import io.conduit.core.sampling.SampledToken;
import io.conduit.core.sampling.TopLogprob;
import io.conduit.core.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Builds OpenAI-shaped JSON: full responses, stream chunks, usage and logprobs. */
final class Renderer {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    final boolean chat;
    final String id;
    final String model;
    final long created;
    final Tokenizer tokenizer;

    Renderer(boolean chat, String id, String model, long created, Tokenizer tokenizer) {
        this.chat = chat;
        this.id = id;
        this.model = model;
        this.created = created;
        this.tokenizer = tokenizer;
    }

    static String finish(FinishReason r) {
        return r == FinishReason.LENGTH ? "length" : "stop";
    }

    private ObjectNode envelope(boolean chunk) {
        ObjectNode o = F.objectNode();
        o.put("id", id);
        o.put("object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        o.put("created", created);
        o.put("model", model);
        o.putNull("system_fingerprint");
        return o;
    }

    static ObjectNode usage(int prompt, int cached, int completion) {
        ObjectNode u = F.objectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", cached);
        u.putObject("completion_tokens_details").put("reasoning_tokens", 0);
        return u;
    }

    String response(List<GenerationResult> results, ObjectNode usage) {
        ObjectNode o = envelope(false);
        ArrayNode choices = o.putArray("choices");
        for (int i = 0; i < results.size(); i++) {
            GenerationResult r = results.get(i);
            ObjectNode c = choices.addObject();
            c.put("index", i);
            if (chat) {
                ObjectNode msg = c.putObject("message");
                msg.put("role", "assistant");
                msg.put("content", r.text());
                msg.putNull("refusal");
                c.set("logprobs", r.logprobs().isEmpty() ? F.nullNode() : chatLogprobs(r.logprobs()));
            } else {
                c.put("text", r.text());
                c.set("logprobs", r.logprobs().isEmpty() ? F.nullNode() : completionLogprobs(r.logprobs()));
            }
            c.put("finish_reason", finish(r.finishReason()));
        }
        o.set("usage", usage);
        return o.toString();
    }

    String roleChunk(int index, boolean includeUsage) {
        ObjectNode o = envelope(true);
        ObjectNode c = o.putArray("choices").addObject();
        c.put("index", index);
        ObjectNode d = c.putObject("delta");
        d.put("role", "assistant");
        d.put("content", "");
        c.putNull("logprobs");
        c.putNull("finish_reason");
        if (includeUsage) o.putNull("usage");
        return o.toString();
    }

    String tokenChunk(int index, String delta, SampledToken token, boolean withLogprobs, boolean includeUsage) {
        ObjectNode o = envelope(true);
        ObjectNode c = o.putArray("choices").addObject();
        c.put("index", index);
        if (chat) {
            c.putObject("delta").put("content", delta);
            c.set("logprobs", withLogprobs ? chatLogprobs(List.of(token)) : F.nullNode());
        } else {
            c.put("text", delta);
            c.set("logprobs", withLogprobs ? completionLogprobs(List.of(token)) : F.nullNode());
        }
        c.putNull("finish_reason");
        if (includeUsage) o.putNull("usage");
        return o.toString();
    }

    String finishChunk(int index, FinishReason reason, boolean includeUsage) {
        ObjectNode o = envelope(true);
        ObjectNode c = o.putArray("choices").addObject();
        c.put("index", index);
        if (chat) c.putObject("delta");
        else c.put("text", "");
        c.putNull("logprobs");
        c.put("finish_reason", finish(reason));
        if (includeUsage) o.putNull("usage");
        return o.toString();
    }

    String usageChunk(ObjectNode usage) {
        ObjectNode o = envelope(true);
        o.putArray("choices");
        o.set("usage", usage);
        return o.toString();
    }

    String tokenString(int id) {
        String t = tokenizer.tokenText(id);
        if (t == null) return "";
        if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
            return String.valueOf((char) Integer.parseInt(t.substring(3, 5), 16));
        }
        return t.replace('\u2581', ' ').replace('\u0120', ' ').replace('\u010A', '\n');
    }

    private ArrayNode bytes(String s) {
        ArrayNode a = F.arrayNode();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) a.add(b & 0xff);
        return a;
    }

    private ObjectNode chatLogprobs(List<SampledToken> tokens) {
        ObjectNode lp = F.objectNode();
        ArrayNode content = lp.putArray("content");
        for (SampledToken t : tokens) {
            String s = tokenString(t.tokenId());
            ObjectNode e = content.addObject();
            e.put("token", s);
            e.put("logprob", t.logprob());
            e.set("bytes", bytes(s));
            ArrayNode top = e.putArray("top_logprobs");
            for (TopLogprob tl : t.topLogprobs()) {
                String ts = tokenString(tl.tokenId());
                top.addObject().put("token", ts).put("logprob", tl.logprob()).set("bytes", bytes(ts));
            }
        }
        lp.putNull("refusal");
        return lp;
    }

    private ObjectNode completionLogprobs(List<SampledToken> tokens) {
        ObjectNode lp = F.objectNode();
        ArrayNode toks = lp.putArray("tokens");
        ArrayNode lps = lp.putArray("token_logprobs");
        ArrayNode tops = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        int offset = 0;
        for (SampledToken t : tokens) {
            String s = tokenString(t.tokenId());
            toks.add(s);
            lps.add(t.logprob());
            ObjectNode top = F.objectNode();
            for (TopLogprob tl : t.topLogprobs()) top.put(tokenString(tl.tokenId()), tl.logprob());
            tops.add(top);
            offsets.add(offset);
            offset += s.length();
        }
        return lp;
    }
}
