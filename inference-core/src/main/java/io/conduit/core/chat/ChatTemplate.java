package io.conduit.core.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face style chat template (Jinja2), rendered with Jinjava using the conventions of
 * {@code transformers.apply_chat_template}: {@code trim_blocks} and {@code lstrip_blocks} on, a single
 * trailing newline of the template dropped, variables {@code messages} (list of maps with {@code role} and
 * {@code content}; {@code message['role']} and {@code message.role} both work), {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token}, and the function {@code raise_exception(msg)}, which fails rendering
 * with a {@link ChatTemplateException} carrying {@code msg}.
 * <p>
 * Without a template ({@code null} or blank source) the {@link #FALLBACK_TEMPLATE}, ChatML, is used:
 * <pre>
 * &lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n   (for every message)
 * &lt;|im_start|&gt;assistant\n                      (when add_generation_prompt)
 * </pre>
 * Instances are immutable and thread-safe.
 */
public final class ChatTemplate {

    /**
     * The template used when a model ships none: ChatML ({@code <|im_start|>role\ncontent<|im_end|>\n} per
     * message, then {@code <|im_start|>assistant\n} when a generation prompt is requested). No BOS is added.
     */
    public static final String FALLBACK_TEMPLATE =
            "{%- for message in messages -%}"
            + "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
            + "{%- endfor -%}"
            + "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

    private static final Jinjava JINJAVA = createJinjava();

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final boolean fallback;

    private ChatTemplate(String source, String bosToken, String eosToken, boolean fallback) {
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.fallback = fallback;
    }

    /**
     * @param jinjaSourceOrNull the template source (e.g. GGUF {@code tokenizer.chat_template}); null or blank
     *                          selects {@link #FALLBACK_TEMPLATE}
     * @param bosToken          text bound to {@code bos_token} (null: empty)
     * @param eosToken          text bound to {@code eos_token} (null: empty)
     * @throws ChatTemplateException when the template has a syntax error
     */
    public static ChatTemplate fromSource(String jinjaSourceOrNull, String bosToken, String eosToken) {
        boolean fallback = jinjaSourceOrNull == null || jinjaSourceOrNull.isBlank();
        String src = fallback ? FALLBACK_TEMPLATE : jinjaSourceOrNull;
        // Jinja2's default keep_trailing_newline=False: one trailing newline of the source is not output.
        if (src.endsWith("\r\n")) {
            src = src.substring(0, src.length() - 2);
        } else if (src.endsWith("\n")) {
            src = src.substring(0, src.length() - 1);
        }
        if (LOOP_FILTER.matcher(src).find()) {
            throw new ChatTemplateException("unsupported in chat templates: a filtered for loop"
                    + " ({% for x in xs if cond %}); Jinjava would silently render nothing");
        }
        ChatTemplate t = new ChatTemplate(pythonStringMethods(lstripBlocks(src)), bosToken, eosToken, fallback);
        t.checkSyntax();
        return t;
    }

    /**
     * Jinja2's lstrip_blocks: spaces and tabs from the start of a line up to a block or comment tag are
     * removed (not for {@code {%+}). Done on the source because Jinjava's own option also strips whitespace
     * before tags in the middle of a line, which Jinja2 keeps.
     */
    static String lstripBlocks(String src) {
        return LSTRIP.matcher(src).replaceAll("");
    }

    private static final java.util.regex.Pattern LSTRIP =
            java.util.regex.Pattern.compile("(?m)^[ \\t]+(?=\\{[%#](?!\\+))");

    private static final java.util.regex.Pattern LOOP_FILTER =
            java.util.regex.Pattern.compile("\\{%[-+]?\\s*for\\s[^%]*?\\sin\\s[^%]*?\\sif\\s[^%]*?%\\}");
    private static final java.util.regex.Pattern TAG =
            java.util.regex.Pattern.compile("\\{\\{.*?\\}\\}|\\{%.*?%\\}", java.util.regex.Pattern.DOTALL);
    private static final String[][] PY_METHODS = {
            {".startswith(", ".startsWith("}, {".endswith(", ".endsWith("}, {".upper()", ".toUpperCase()"},
            {".lower()", ".toLowerCase()"}, {".lstrip()", ".stripLeading()"}, {".rstrip()", ".stripTrailing()"}};

    /**
     * Templates call Python str methods; Jinjava resolves method calls on the Java String. strip, split and
     * replace exist with the same meaning; startswith, endswith, upper, lower, lstrip and rstrip are renamed
     * to their Java equivalents inside tags.
     */
    static String pythonStringMethods(String src) {
        java.util.regex.Matcher m = TAG.matcher(src);
        StringBuilder sb = new StringBuilder(src.length());
        while (m.find()) {
            String tag = m.group();
            for (String[] r : PY_METHODS) {
                tag = tag.replace(r[0], r[1]);
            }
            m.appendReplacement(sb, java.util.regex.Matcher.quoteReplacement(tag));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /**
     * The template a tokenizer ships (GGUF tokenizer.chat_template or tokenizer_config.json chat_template),
     * with {@code bos_token}/{@code eos_token} bound to the texts of its BOS/EOS tokens; the fallback when
     * it ships none.
     */
    public static ChatTemplate fromTokenizer(io.conduit.core.tokenizer.Tokenizer tokenizer) {
        String bos = tokenizer.bosId() >= 0 ? tokenizer.tokenText(tokenizer.bosId()) : "";
        String eos = tokenizer.eosId() >= 0 ? tokenizer.tokenText(tokenizer.eosId()) : "";
        return fromSource(tokenizer.chatTemplate(), bos, eos);
    }

    public boolean isFallback() {
        return fallback;
    }

    public String source() {
        return source;
    }

    /**
     * Renders the conversation.
     *
     * @throws ChatTemplateException when the template calls {@code raise_exception} (message preserved) or
     *                               fails while rendering
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        RenderResult result = JINJAVA.renderForResult(source, vars);
        failOnErrors(result.getErrors());
        return result.getOutput();
    }

    private void checkSyntax() {
        RenderResult r = JINJAVA.renderForResult(source, Map.of("messages", List.of(), "add_generation_prompt", false,
                "bos_token", bosToken, "eos_token", eosToken));
        List<TemplateError> syntax = new ArrayList<>();
        for (TemplateError e : r.getErrors()) {
            if (e.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR
                    || e.getReason() == TemplateError.ErrorReason.UNKNOWN) {
                syntax.add(e);
            }
        }
        if (!syntax.isEmpty()) {
            throw new ChatTemplateException("chat template syntax error: " + describe(syntax));
        }
    }

    private static void failOnErrors(List<TemplateError> errors) {
        for (TemplateError e : errors) {
            RaisedException raised = findRaised(e.getException());
            if (raised != null) {
                throw new ChatTemplateException(raised.getMessage(), raised);
            }
        }
        List<TemplateError> fatal = errors.stream().filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
        if (!fatal.isEmpty()) {
            throw new ChatTemplateException("chat template failed: " + describe(fatal));
        }
    }

    private static RaisedException findRaised(Throwable t) {
        for (int depth = 0; t != null && depth < 20; depth++, t = t.getCause()) {
            if (t instanceof RaisedException r) {
                return r;
            }
        }
        return null;
    }

    private static String describe(List<TemplateError> errors) {
        StringBuilder sb = new StringBuilder();
        for (TemplateError e : errors) {
            if (!sb.isEmpty()) {
                sb.append("; ");
            }
            sb.append(e.getMessage());
            if (e.getLineno() > 0) {
                sb.append(" (line ").append(e.getLineno()).append(')');
            }
        }
        return sb.toString();
    }

    /** Thrown by {@code raise_exception}; unwrapped into a {@link ChatTemplateException} by {@link #render}. */
    static final class RaisedException extends RuntimeException {
        RaisedException(String message) {
            super(message);
        }
    }

    /** Implementation of the template function {@code raise_exception(msg)}. */
    public static Object raiseException(String message) {
        throw new RaisedException(message);
    }

    private static Jinjava createJinjava() {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(false) // done by lstripBlocks(String), see there
                .withFailOnUnknownTokens(false)
                // We drop the source's trailing newline ourselves (Jinja2 semantics); never trim the output.
                .withKeepTrailingNewline(true)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .withUseNaturalOperatorPrecedence(true) // a + b | trim filters b, as in Jinja2
                        .withParseWhitespaceControlStrictly(true)
                        .withAllowAdjacentTextNodes(true)
                        .withUseTrimmingForNotesAndExpressions(true) // {{- ... -}} trims like {%- -%}
                        .withKeepNullableLoopValues(true)
                        .withHandleBackslashInQuotesOnly(true) // '\n' in string literals is a newline
                        .build())
                .build();
        Jinjava j = new Jinjava(config);
        j.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        return j;
    }
}
