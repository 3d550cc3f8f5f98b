package io.conduit.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hugging Face {@code tokenizer.json} tokenizer. Supported components (anything else is rejected with a
 * {@link TokenizerException} naming it):
 * <ul>
 *   <li>model: BPE (merges as {@code "a b"} strings or {@code [a, b]} arrays, byte_fallback, fuse_unk,
 *       ignore_merges; no continuing_subword_prefix / end_of_word_suffix)</li>
 *   <li>normalizer: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip</li>
 *   <li>pre_tokenizer: Sequence, ByteLevel, Split, Metaspace</li>
 *   <li>decoder: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace</li>
 *   <li>post_processor: ignored; BOS is added by {@code encode(text, addBos, ...)} instead.</li>
 * </ul>
 * Added tokens are found as in {@code tokenizers}' AddedVocabulary: tokens with {@code normalized=false}
 * in the raw text, tokens with {@code normalized=true} (their content normalized too) in the normalized
 * text; special ones only when {@code parseSpecial}. {@code single_word} is not supported (ignored).
 */
final class HfTokenizer extends BaseTokenizer {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final boolean[] special;
    /** Text each token contributes to decoding: the vocab text, or for normalized added tokens their normalized content. */
    private final String[] decodeText;
    private final UnaryOperator<String> normalizer;
    private final List<PreStep> preTokenizer;
    private final BpeModel model;
    private final TokenMatcher rawWithSpecial;
    private final TokenMatcher rawPlain;
    private final TokenMatcher normWithSpecial;
    private final TokenMatcher normPlain;
    private final List<DecStep> decoder; // null: no decoder, tokens joined by spaces
    private final int stripStart;
    private final int stripStop;
    private final char stripContent;

    // ---------------------------------------------------------------- pipeline components

    /** A piece of text during pre-tokenization; {@code first} = starts at offset 0 of the original input. */
    private record Piece(String text, boolean first) {}

    private interface PreStep {
        List<Piece> apply(Piece p);
    }

    private sealed interface DecStep permits Rep, ByteFb, ByteLvl, Meta, TokStrip {}

    private record Rep(Pattern pattern, String content) implements DecStep {}

    private record ByteFb() implements DecStep {}

    private record ByteLvl() implements DecStep {}

    private record Meta(char replacement, boolean stripFirst) implements DecStep {}

    private record TokStrip(char content, int start, int stop) implements DecStep {}

    private HfTokenizer(String[] tokens, String[] decodeText, Map<String, Integer> ids, boolean[] special, int bos, int eos, boolean addBos,
                        Set<Integer> stops, String chatTemplate, UnaryOperator<String> normalizer, List<PreStep> pre,
                        BpeModel model, List<TokenMatcher.Entry> rawSpecial, List<TokenMatcher.Entry> rawPlain,
                        List<TokenMatcher.Entry> normSpecial, List<TokenMatcher.Entry> normPlain, List<DecStep> decoder,
                        int stripStart, int stripStop, char stripContent) {
        super(tokens, ids, bos, eos, addBos, withKnownEndOfTurn(stops, ids, id -> special[id]), chatTemplate);
        this.special = special;
        this.decodeText = decodeText;
        this.normalizer = normalizer;
        this.preTokenizer = pre;
        this.model = model;
        this.rawWithSpecial = new TokenMatcher(rawSpecial);
        this.rawPlain = new TokenMatcher(rawPlain);
        this.normWithSpecial = new TokenMatcher(normSpecial);
        this.normPlain = new TokenMatcher(normPlain);
        this.decoder = decoder;
        this.stripStart = stripStart;
        this.stripStop = stripStop;
        this.stripContent = stripContent;
    }

    // ---------------------------------------------------------------- encode

    @Override
    public int[] encode(String text, boolean addBosToken, boolean parseSpecial) {
        IntList out = new IntList();
        if (addBosToken && bosId >= 0) {
            out.add(bosId);
        }
        for (TokenMatcher.Segment raw : (parseSpecial ? rawWithSpecial : rawPlain).split(text, 0)) {
            if (raw.isToken()) {
                out.add(raw.id());
                continue;
            }
            String normalized = normalizer.apply(raw.text());
            for (TokenMatcher.Segment seg : (parseSpecial ? normWithSpecial : normPlain).split(normalized, 0)) {
                if (seg.isToken()) {
                    out.add(seg.id());
                    continue;
                }
                List<Piece> pieces = List.of(new Piece(seg.text(), raw.start() == 0 && seg.start() == 0));
                for (PreStep step : preTokenizer) {
                    List<Piece> next = new ArrayList<>();
                    for (Piece p : pieces) {
                        next.addAll(step.apply(p));
                    }
                    pieces = next;
                }
                for (Piece p : pieces) {
                    model.encodeWord(p.text(), out);
                }
            }
        }
        return out.toArray();
    }

    // ---------------------------------------------------------------- decode

    @Override
    protected void appendPiece(int id, int emittedIndex, int prevId, ByteArrayOutputStream out) {
        String text = decodeText[id];
        if (decoder == null) {
            writeUtf8(emittedIndex > 0 ? " " + text : text, out);
            return;
        }
        for (DecStep step : decoder) {
            switch (step) {
                case Rep r -> text = r.pattern().matcher(text).replaceAll(Matcher.quoteReplacement(r.content()));
                case ByteFb b -> {
                    int v = parseByteToken(text);
                    if (v >= 0) {
                        out.write(v);
                        return;
                    }
                }
                case ByteLvl b -> {
                    ByteLevel.decodeTo(text, out);
                    return;
                }
                case Meta m -> {
                    StringBuilder sb = new StringBuilder(text.length());
                    for (int i = 0; i < text.length(); i++) {
                        char c = text.charAt(i);
                        if (c == m.replacement()) {
                            if (!(emittedIndex == 0 && m.stripFirst())) {
                                sb.append(' ');
                            }
                        } else {
                            sb.append(c);
                        }
                    }
                    text = sb.toString();
                }
                case TokStrip s -> {
                    int a = 0;
                    int e = text.length();
                    for (int k = 0; k < s.start() && a < e && text.charAt(a) == s.content(); k++) {
                        a++;
                    }
                    for (int k = 0; k < s.stop() && e > a && text.charAt(e - 1) == s.content(); k++) {
                        e--;
                    }
                    text = text.substring(a, e);
                }
            }
        }
        writeUtf8(text, out);
    }

    @Override
    protected int leadingSpacesToStrip() {
        return stripStart;
    }

    @Override
    protected int trailingSpacesToStrip() {
        return stripStop;
    }

    @Override
    protected char stripChar() {
        return stripContent;
    }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return special[id];
    }

    // ---------------------------------------------------------------- loading

    static Tokenizer load(Path path) {
        JsonNode root = readJson(path, true);
        Path dir = path.toAbsolutePath().getParent();
        JsonNode config = dir == null ? null : readJson(dir.resolve("tokenizer_config.json"), false);
        JsonNode genConfig = dir == null ? null : readJson(dir.resolve("generation_config.json"), false);
        try {
            return build(root, config, genConfig);
        } catch (TokenizerException e) {
            throw new TokenizerException(path + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path p, boolean required) {
        if (!Files.isRegularFile(p)) {
            if (required) {
                throw new TokenizerException("tokenizer file not found: " + p);
            }
            return null;
        }
        try {
            return JSON.readTree(Files.readString(p, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    static Tokenizer build(JsonNode root, JsonNode config, JsonNode genConfig) {
        JsonNode m = root.path("model");
        if (m.isMissingNode() || m.isNull()) {
            throw new TokenizerException("tokenizer.json has no model");
        }
        String modelType = m.path("type").asText("BPE");
        if (!modelType.equals("BPE")) {
            throw new TokenizerException("unsupported tokenizer.json model type '" + modelType + "' (supported: BPE)");
        }
        for (String f : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (m.hasNonNull(f) && !m.get(f).asText().isEmpty()) {
                throw new TokenizerException("unsupported tokenizer.json BPE option " + f + "='" + m.get(f).asText() + "'");
            }
        }
        JsonNode vocabNode = m.path("vocab");
        if (!vocabNode.isObject() || vocabNode.isEmpty()) {
            throw new TokenizerException("tokenizer.json model has no vocab");
        }
        Map<String, Integer> vocab = new HashMap<>();
        int size = 0;
        for (var it = vocabNode.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw new TokenizerException("tokenizer.json vocab entry '" + e.getKey() + "' has no valid id");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
            size = Math.max(size, e.getValue().asInt() + 1);
        }
        JsonNode added = root.path("added_tokens");
        for (JsonNode a : added) {
            size = Math.max(size, a.path("id").asInt(-1) + 1);
        }
        String[] tokens = new String[size];
        Arrays.fill(tokens, "");
        vocab.forEach((t, id) -> tokens[id] = t);
        Map<String, Integer> ids = new HashMap<>(vocab);
        boolean[] special = new boolean[size];
        for (JsonNode a : added) {
            int id = a.path("id").asInt(-1);
            String content = a.path("content").asText(null);
            if (id < 0 || content == null) {
                throw new TokenizerException("tokenizer.json added_tokens entry without id/content: " + a);
            }
            tokens[id] = content;
            ids.put(content, id);
            special[id] = a.path("special").asBoolean(false);
        }

        List<String[]> merges = new ArrayList<>();
        int i = 0;
        for (JsonNode mg : m.path("merges")) {
            if (mg.isTextual()) {
                merges.add(Tokenizers.splitMerge(mg.asText(), "tokenizer.json merges[" + i + "]"));
            } else if (mg.isArray() && mg.size() == 2) {
                merges.add(new String[]{mg.get(0).asText(), mg.get(1).asText()});
            } else {
                throw new TokenizerException("tokenizer.json merges[" + i + "] is neither 'a b' nor [a, b]: " + mg);
            }
            i++;
        }
        int unk = -1;
        if (m.hasNonNull("unk_token")) {
            Integer u = vocab.get(m.get("unk_token").asText());
            if (u == null) {
                throw new TokenizerException("tokenizer.json unk_token '" + m.get("unk_token").asText() + "' is not in the vocab");
            }
            unk = u;
        }
        BpeModel bpe = new BpeModel(vocab, merges, unk, m.path("byte_fallback").asBoolean(false),
                m.path("fuse_unk").asBoolean(false), m.path("ignore_merges").asBoolean(false), true);

        UnaryOperator<String> normalizer = normalizer(root.path("normalizer"));
        List<PreStep> pre = new ArrayList<>();
        preTokenizer(root.path("pre_tokenizer"), pre);

        // HF keeps a normalized added token under its normalized content and decodes that text (e.g. "▁<tool>"
        // with a Prepend normalizer). We decode the same, but still report the original content as its text
        // and still skip such special tokens on request (HF then fails to recognise them as special).
        String[] decodeText = tokens.clone();
        List<TokenMatcher.Entry> rawSpecial = new ArrayList<>();
        List<TokenMatcher.Entry> rawPlain = new ArrayList<>();
        List<TokenMatcher.Entry> normSpecial = new ArrayList<>();
        List<TokenMatcher.Entry> normPlain = new ArrayList<>();
        for (JsonNode a : added) {
            boolean normalized = a.path("normalized").asBoolean(!a.path("special").asBoolean(false));
            String content = a.path("content").asText();
            String pattern = normalized ? normalizer.apply(content) : content;
            decodeText[a.path("id").asInt()] = pattern;
            TokenMatcher.Entry e = new TokenMatcher.Entry(pattern, a.path("id").asInt(),
                    a.path("lstrip").asBoolean(false), a.path("rstrip").asBoolean(false));
            boolean isSpecial = a.path("special").asBoolean(false);
            (normalized ? normSpecial : rawSpecial).add(e);
            if (!isSpecial) {
                (normalized ? normPlain : rawPlain).add(e);
            }
        }

        // Decoder: per-token steps until Fuse; a Strip after Fuse acts on the whole text.
        List<DecStep> dec = null;
        int[] strip = {0, 0};
        char[] stripChar = {' '};
        JsonNode d = root.path("decoder");
        if (!d.isMissingNode() && !d.isNull()) {
            dec = new ArrayList<>();
            decoder(d, dec, new boolean[]{false}, strip, stripChar);
        }

        // Special ids and flags from tokenizer_config.json.
        int bos = -1;
        int eos = -1;
        boolean addBos = false;
        String chatTemplate = null;
        if (config != null) {
            bos = tokenId(config.path("bos_token"), ids, "bos_token");
            eos = tokenId(config.path("eos_token"), ids, "eos_token");
            addBos = config.path("add_bos_token").asBoolean(false);
            JsonNode ct = config.path("chat_template");
            if (ct.isTextual()) {
                chatTemplate = ct.asText();
            } else if (ct.isArray()) {
                for (JsonNode t : ct) {
                    if (t.path("name").asText().equals("default") || chatTemplate == null) {
                        chatTemplate = t.path("template").asText(null);
                    }
                }
            }
        }
        if (!addBos && (config == null || !config.has("add_bos_token"))) {
            // No config flag: infer from a TemplateProcessing post-processor that starts with a special token.
            JsonNode first = root.path("post_processor").path("single").path(0).path("SpecialToken").path("id");
            if (first.isTextual() && ids.containsKey(first.asText())) {
                addBos = true;
                if (bos < 0) {
                    bos = ids.get(first.asText());
                }
            }
        }
        Set<Integer> stops = new LinkedHashSet<>();
        if (genConfig != null) {
            JsonNode e = genConfig.path("eos_token_id");
            for (JsonNode v : e.isArray() ? e : List.of(e)) {
                if (v.canConvertToInt() && v.asInt() >= 0 && v.asInt() < size) {
                    stops.add(v.asInt());
                    if (eos < 0) {
                        eos = v.asInt();
                    }
                }
            }
        }
        return new HfTokenizer(tokens, decodeText, ids, special, bos, eos, addBos, stops, chatTemplate, normalizer, pre, bpe,
                rawSpecial, rawPlain, normSpecial, normPlain, dec, strip[0], strip[1], stripChar[0]);
    }

    private static int tokenId(JsonNode n, Map<String, Integer> ids, String what) {
        String content = n.isTextual() ? n.asText() : n.path("content").asText(null);
        if (content == null) {
            return -1;
        }
        Integer id = ids.get(content);
        if (id == null) {
            throw new TokenizerException("tokenizer_config.json " + what + " '" + content + "' is not in the vocabulary");
        }
        return id;
    }

    private static Pattern pattern(JsonNode p, String where) {
        if (p.hasNonNull("String")) {
            return Pattern.compile(Pattern.quote(p.get("String").asText()));
        }
        if (p.hasNonNull("Regex")) {
            try {
                return PreTokenizerPatterns.compile(p.get("Regex").asText());
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new TokenizerException(where + " regex cannot be compiled: " + e.getMessage(), e);
            }
        }
        throw new TokenizerException(where + " has no String/Regex pattern: " + p);
    }

    private static UnaryOperator<String> normalizer(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return UnaryOperator.identity();
        }
        String type = n.path("type").asText();
        return switch (type) {
            case "Sequence" -> {
                List<UnaryOperator<String>> parts = new ArrayList<>();
                for (JsonNode c : n.path("normalizers")) {
                    parts.add(normalizer(c));
                }
                yield s -> {
                    for (UnaryOperator<String> p : parts) {
                        s = p.apply(s);
                    }
                    return s;
                };
            }
            case "Prepend" -> {
                String prefix = n.path("prepend").asText();
                yield s -> s.isEmpty() ? s : prefix + s;
            }
            case "Replace" -> {
                Pattern p = pattern(n.path("pattern"), "normalizer Replace");
                String content = Matcher.quoteReplacement(n.path("content").asText());
                yield s -> p.matcher(s).replaceAll(content);
            }
            case "NFC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFKD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            case "Lowercase" -> s -> s.toLowerCase(Locale.ROOT);
            case "Strip" -> {
                boolean left = n.path("strip_left").asBoolean(true);
                boolean right = n.path("strip_right").asBoolean(true);
                yield s -> left && right ? s.strip() : left ? s.stripLeading() : right ? s.stripTrailing() : s;
            }
            default -> throw new TokenizerException("unsupported tokenizer.json normalizer type '" + type
                    + "' (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip)");
        };
    }

    private static void preTokenizer(JsonNode n, List<PreStep> out) {
        if (n.isMissingNode() || n.isNull()) {
            return;
        }
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                for (JsonNode c : n.path("pretokenizers")) {
                    preTokenizer(c, out);
                }
            }
            case "ByteLevel" -> {
                boolean prefix = n.path("add_prefix_space").asBoolean(false);
                Pattern re = n.path("use_regex").asBoolean(true) ? PreTokenizerPatterns.compile(PreTokenizerPatterns.GPT2) : null;
                out.add(p -> {
                    String t = prefix && !p.text().startsWith(" ") ? " " + p.text() : p.text();
                    List<String> parts = re == null ? List.of(t) : PreTokenizerPatterns.splitIsolated(re, t);
                    List<Piece> res = new ArrayList<>(parts.size());
                    for (int k = 0; k < parts.size(); k++) {
                        res.add(new Piece(ByteLevel.encode(parts.get(k)), p.first() && k == 0));
                    }
                    return res;
                });
            }
            case "Split" -> {
                Pattern re = pattern(n.path("pattern"), "pre_tokenizer Split");
                if (n.path("invert").asBoolean(false)) {
                    throw new TokenizerException("unsupported tokenizer.json pre_tokenizer Split with invert=true");
                }
                String behavior = n.path("behavior").asText("Isolated");
                if (!List.of("Isolated", "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous").contains(behavior)) {
                    throw new TokenizerException("unsupported tokenizer.json pre_tokenizer Split behavior '" + behavior + "'");
                }
                out.add(p -> split(p, re, behavior));
            }
            case "Metaspace" -> {
                String rep = n.path("replacement").asText("\u2581");
                String scheme = n.hasNonNull("prepend_scheme") ? n.get("prepend_scheme").asText()
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                boolean splitWords = n.path("split").asBoolean(true);
                Pattern space = Pattern.compile(Pattern.quote(rep));
                out.add(p -> {
                    String t = p.text().replace(" ", rep);
                    if (!t.startsWith(rep) && (scheme.equals("always") || (scheme.equals("first") && p.first()))) {
                        t = rep + t;
                    }
                    Piece q = new Piece(t, p.first());
                    return splitWords ? split(q, space, "MergedWithNext") : List.of(q);
                });
            }
            default -> throw new TokenizerException("unsupported tokenizer.json pre_tokenizer type '" + type
                    + "' (supported: Sequence, ByteLevel, Split, Metaspace)");
        }
    }

    /** HF {@code split} with a delimiter behaviour. */
    private static List<Piece> split(Piece p, Pattern re, String behavior) {
        String s = p.text();
        List<int[]> parts = new ArrayList<>(); // {start, end, isMatch}
        Matcher mt = re.matcher(s);
        int last = 0;
        while (mt.find()) {
            if (mt.end() == mt.start()) {
                continue;
            }
            if (mt.start() > last) {
                parts.add(new int[]{last, mt.start(), 0});
            }
            parts.add(new int[]{mt.start(), mt.end(), 1});
            last = mt.end();
        }
        if (last < s.length()) {
            parts.add(new int[]{last, s.length(), 0});
        }
        List<int[]> merged = new ArrayList<>();
        switch (behavior) {
            case "Removed" -> parts.stream().filter(x -> x[2] == 0).forEach(merged::add);
            case "MergedWithPrevious" -> {
                for (int[] x : parts) {
                    if (x[2] == 1 && !merged.isEmpty()) {
                        merged.getLast()[1] = x[1];
                    } else {
                        merged.add(x.clone());
                    }
                }
            }
            case "MergedWithNext" -> {
                int[] pending = null;
                for (int[] x : parts) {
                    if (x[2] == 1) {
                        if (pending != null) {
                            merged.add(pending);
                        }
                        pending = x.clone();
                    } else if (pending != null) {
                        pending[1] = x[1];
                        merged.add(pending);
                        pending = null;
                    } else {
                        merged.add(x.clone());
                    }
                }
                if (pending != null) {
                    merged.add(pending);
                }
            }
            case "Contiguous" -> {
                for (int[] x : parts) {
                    if (x[2] == 1 && !merged.isEmpty() && merged.getLast()[2] == 1) {
                        merged.getLast()[1] = x[1];
                    } else {
                        merged.add(x.clone());
                    }
                }
            }
            default -> merged.addAll(parts);
        }
        List<Piece> res = new ArrayList<>(merged.size());
        for (int[] x : merged) {
            res.add(new Piece(s.substring(x[0], x[1]), p.first() && x[0] == 0));
        }
        return res;
    }

    private static void decoder(JsonNode n, List<DecStep> out, boolean[] fused, int[] strip, char[] stripChar) {
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                for (JsonNode c : n.path("decoders")) {
                    decoder(c, out, fused, strip, stripChar);
                }
            }
            case "Replace" -> out.add(new Rep(pattern(n.path("pattern"), "decoder Replace"), n.path("content").asText()));
            case "ByteFallback" -> out.add(new ByteFb());
            case "ByteLevel" -> out.add(new ByteLvl());
            case "Fuse" -> fused[0] = true;
            case "Metaspace" -> {
                String rep = n.path("replacement").asText("\u2581");
                String scheme = n.hasNonNull("prepend_scheme") ? n.get("prepend_scheme").asText()
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                out.add(new Meta(rep.charAt(0), !scheme.equals("never")));
            }
            case "Strip" -> {
                String content = n.path("content").asText(" ");
                if (content.length() != 1) {
                    throw new TokenizerException("unsupported tokenizer.json decoder Strip content '" + content + "'");
                }
                int start = n.path("start").asInt(0);
                int stop = n.path("stop").asInt(0);
                if (fused[0]) {
                    strip[0] = start;
                    strip[1] = stop;
                    stripChar[0] = content.charAt(0);
                } else {
                    out.add(new TokStrip(content.charAt(0), start, stop));
                }
            }
            default -> throw new TokenizerException("unsupported tokenizer.json decoder type '" + type
                    + "' (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace)");
        }
    }
}
