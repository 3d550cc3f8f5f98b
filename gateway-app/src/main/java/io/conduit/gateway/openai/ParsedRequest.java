package io.conduit.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.conduit.gateway.web.ApiException;

import java.util.ArrayList;
import java.util.List;

/** The OpenAI request fields the gateway understands, type-checked; anything malformed is a 400 naming the param. */
public record ParsedRequest(boolean chat, String model, List<Message> messages, List<String> prompts,
                            List<int[]> promptIds,
                            int n, Integer maxTokens, Double temperature, Double topP, Long seed, List<String> stop,
                            Double presencePenalty, Double frequencyPenalty, int logprobs, boolean stream,
                            boolean includeUsage, String user) {

    public record Message(String role, String content) {
    }

    public static final int MAX_N = 16;
    /** Prompts × n: each choice is one engine sequence, so this bounds what one request can occupy. */
    public static final int MAX_CHOICES = 128;

    public static ParsedRequest parse(JsonNode root, boolean chat) {
        if (root == null || !root.isObject()) {
            throw ApiException.invalid("The request body must be a JSON object.", null);
        }
        String model = string(root, "model", true);
        List<Message> messages = null;
        List<String> prompts = null;
        List<int[]> promptIds = null;
        if (chat) {
            JsonNode m = root.get("messages");
            if (m == null || !m.isArray() || m.isEmpty()) {
                throw ApiException.invalid("'messages' must be a non-empty array.", "messages");
            }
            messages = new ArrayList<>();
            for (JsonNode msg : m) {
                if (!msg.isObject() || !msg.path("role").isTextual()) {
                    throw ApiException.invalid("Each message needs a string 'role'.", "messages");
                }
                String role = msg.get("role").asText();
                if (!List.of("system", "developer", "user", "assistant", "tool").contains(role)) {
                    throw ApiException.invalid("Invalid message role '" + role + "'.", "messages");
                }
                messages.add(new Message(role, content(msg.get("content"))));
            }
        } else {
            JsonNode p = root.get("prompt");
            if (p == null || p.isNull()) throw ApiException.invalid("'prompt' is required.", "prompt");
            if (p.isTextual()) {
                prompts = List.of(p.asText());
            } else if (p.isArray() && p.isEmpty()) {
                throw ApiException.invalid("'prompt' must not be an empty array.", "prompt");
            } else if (p.isArray() && allInts(p)) {
                promptIds = List.of(ints(p));
            } else if (p.isArray() && all(p, JsonNode::isTextual)) {
                prompts = new ArrayList<>();
                for (JsonNode x : p) {
                    // OpenAI refuses these too; an empty batch element is almost always a client bug.
                    if (x.asText().isEmpty()) throw ApiException.invalid("'prompt' must not contain empty strings.", "prompt");
                    prompts.add(x.asText());
                }
            } else if (p.isArray() && all(p, x -> x.isArray() && allInts(x))) {
                promptIds = new ArrayList<>();
                for (JsonNode x : p) {
                    if (x.isEmpty()) throw ApiException.invalid("'prompt' must not contain empty token arrays.", "prompt");
                    promptIds.add(ints(x));
                }
            } else {
                throw ApiException.invalid("'prompt' must be a string, an array of strings, an array of token ids "
                        + "or an array of arrays of token ids.", "prompt");
            }
        }
        // Refuse what the engine cannot honour rather than silently answering with plain text.
        for (String unsupported : List.of("tools", "functions")) {
            JsonNode t = root.get(unsupported);
            if (t != null && !t.isNull() && !(t.isArray() && t.isEmpty())) {
                throw ApiException.invalid("'" + unsupported + "' (tool calling) is not supported by this gateway.",
                        unsupported, "unsupported_parameter");
            }
        }
        JsonNode format = root.get("response_format");
        if (format != null && !format.isNull() && !"text".equals(format.path("type").asText("text"))) {
            throw ApiException.invalid("Only response_format {\"type\": \"text\"} is supported.", "response_format",
                    "unsupported_parameter");
        }
        Integer n = integer(root, "n");
        if (n != null && (n < 1 || n > MAX_N)) {
            throw ApiException.invalid("'n' must be between 1 and " + MAX_N + ".", "n");
        }
        int batch = prompts != null ? prompts.size() : promptIds != null ? promptIds.size() : 1;
        if ((long) batch * (n == null ? 1 : n) > MAX_CHOICES) {
            throw ApiException.invalid("Too many choices: " + batch + " prompts × n=" + (n == null ? 1 : n)
                    + " exceeds the limit of " + MAX_CHOICES + " choices per request.", "prompt");
        }
        Integer maxTokens = integer(root, "max_completion_tokens");
        String maxName = "max_completion_tokens";
        if (maxTokens == null) {
            maxTokens = integer(root, "max_tokens");
            maxName = "max_tokens";
        }
        if (maxTokens != null && maxTokens < 1) {
            throw ApiException.invalid("'" + maxName + "' must be at least 1.", maxName);
        }
        List<String> stop = null;
        JsonNode s = root.get("stop");
        if (s != null && !s.isNull()) {
            stop = new ArrayList<>();
            if (s.isTextual()) {
                stop.add(s.asText());
            } else if (s.isArray()) {
                for (JsonNode x : s) {
                    if (!x.isTextual()) throw ApiException.invalid("'stop' entries must be strings.", "stop");
                    stop.add(x.asText());
                }
            } else {
                throw ApiException.invalid("'stop' must be a string or an array of strings.", "stop");
            }
        }
        int logprobs = -1;
        if (chat) {
            JsonNode lp = root.get("logprobs");
            if (lp != null && !lp.isNull() && !lp.isBoolean()) {
                throw ApiException.invalid("'logprobs' must be a boolean.", "logprobs");
            }
            Integer top = integer(root, "top_logprobs");
            if (lp != null && lp.asBoolean()) {
                logprobs = top == null ? 0 : top;
            } else if (top != null) {
                throw ApiException.invalid("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
            }
            if (logprobs > 20) throw ApiException.invalid("'top_logprobs' must be at most 20.", "top_logprobs");
        } else {
            Integer lp = integer(root, "logprobs");
            if (lp != null) {
                if (lp < 0 || lp > 20) throw ApiException.invalid("'logprobs' must be between 0 and 20.", "logprobs");
                logprobs = lp;
            }
        }
        Boolean stream = bool(root, "stream");
        boolean includeUsage = false;
        JsonNode so = root.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw ApiException.invalid("'stream_options' must be an object.", "stream_options");
            if (stream == null || !stream) {
                throw ApiException.invalid("'stream_options' is only allowed when 'stream' is true.", "stream_options");
            }
            Boolean iu = bool(so, "include_usage");
            includeUsage = iu != null && iu;
        }
        Long seed = null;
        JsonNode sd = root.get("seed");
        if (sd != null && !sd.isNull()) {
            if (!sd.isIntegralNumber()) throw ApiException.invalid("'seed' must be an integer.", "seed");
            seed = sd.asLong();
        }
        String user = string(root, "user", false);
        if (user != null && user.length() > 256) {
            throw ApiException.invalid("'user' must be at most 256 characters.", "user");
        }
        return new ParsedRequest(chat, model, messages, prompts, promptIds, n == null ? 1 : n, maxTokens,
                number(root, "temperature"), number(root, "top_p"), seed, stop, number(root, "presence_penalty"),
                number(root, "frequency_penalty"), logprobs, stream != null && stream, includeUsage,
                user);
    }

    private static boolean allInts(JsonNode arr) {
        return all(arr, JsonNode::isIntegralNumber);
    }

    private static boolean all(JsonNode arr, java.util.function.Predicate<JsonNode> test) {
        for (JsonNode x : arr) if (!test.test(x)) return false;
        return true;
    }

    private static int[] ints(JsonNode arr) {
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = arr.get(i).asInt();
        return ids;
    }

    /** Completions only: how many prompts the request carries (each gets n choices). */
    public int promptCount() {
        return prompts != null ? prompts.size() : promptIds != null ? promptIds.size() : 1;
    }

    private static String content(JsonNode c) {
        if (c == null || c.isNull()) return "";
        if (c.isTextual()) return c.asText();
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.isObject() || !"text".equals(part.path("type").asText())) {
                    throw ApiException.invalid("Only text content parts are supported.", "messages");
                }
                sb.append(part.path("text").asText());
            }
            return sb.toString();
        }
        throw ApiException.invalid("Message 'content' must be a string or an array of text parts.", "messages");
    }

    private static String string(JsonNode root, String name, boolean required) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            if (required) throw ApiException.invalid("'" + name + "' is required.", name);
            return null;
        }
        if (!v.isTextual()) throw ApiException.invalid("'" + name + "' must be a string.", name);
        return v.asText();
    }

    private static Integer integer(JsonNode root, String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiException.invalid("'" + name + "' must be an integer.", name);
        }
        return v.asInt();
    }

    private static Double number(JsonNode root, String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw ApiException.invalid("'" + name + "' must be a number.", name);
        return v.asDouble();
    }

    private static Boolean bool(JsonNode root, String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isBoolean()) throw ApiException.invalid("'" + name + "' must be a boolean.", name);
        return v.asBoolean();
    }
}
