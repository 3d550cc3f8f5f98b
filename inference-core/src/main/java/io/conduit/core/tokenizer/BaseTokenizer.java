package io.conduit.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Shared vocabulary bookkeeping and the byte-oriented decode pipeline. Subclasses turn one token into
 * bytes ({@link #appendPiece}); this class concatenates, UTF-8-decodes (lossy) and applies a global
 * leading-space strip, both in one shot and incrementally.
 */
abstract class BaseTokenizer implements Tokenizer {

    /** Texts of tokens that end a turn in common chat formats; added to stop ids when present and special. */
    static final List<String> KNOWN_END_OF_TURN = List.of(
            "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>", "<end_of_turn>",
            "<|end_of_text|>", "</s>");

    protected final String[] tokens;
    protected final Map<String, Integer> ids;
    protected final int bosId;
    protected final int eosId;
    protected final boolean addBos;
    private final Set<Integer> stopIds;
    private final String chatTemplate;

    BaseTokenizer(String[] tokens, Map<String, Integer> ids, int bosId, int eosId, boolean addBos,
                  Set<Integer> extraStopIds, String chatTemplate) {
        this.tokens = tokens;
        this.ids = ids;
        this.bosId = bosId;
        this.eosId = eosId;
        this.addBos = addBos;
        this.chatTemplate = chatTemplate;
        Set<Integer> stops = new LinkedHashSet<>();
        if (eosId >= 0) {
            stops.add(eosId);
        }
        for (Integer s : extraStopIds) {
            if (s != null && s >= 0 && s < tokens.length) {
                stops.add(s);
            }
        }
        this.stopIds = Collections.unmodifiableSet(stops);
    }

    /** Adds well-known end-of-turn tokens that exist in the vocabulary and are special (call from subclass constructors). */
    static Set<Integer> withKnownEndOfTurn(Set<Integer> extra, Map<String, Integer> ids, java.util.function.IntPredicate special) {
        Set<Integer> out = new LinkedHashSet<>(extra);
        for (String t : KNOWN_END_OF_TURN) {
            Integer id = ids.get(t);
            if (id != null && special.test(id)) {
                out.add(id);
            }
        }
        return out;
    }

    /**
     * Appends the bytes of token {@code id}.
     *
     * @param emittedIndex index of this token among the tokens actually rendered (skipped specials excluded)
     * @param prevId       the id before it in the input sequence (rendered or not), -1 at the start
     */
    protected abstract void appendPiece(int id, int emittedIndex, int prevId, ByteArrayOutputStream out);

    /** Number of leading spaces stripped from the whole decoded text (HF Strip decoder after Fuse). */
    protected int leadingSpacesToStrip() {
        return 0;
    }

    /** The character {@link #leadingSpacesToStrip()} / {@link #trailingSpacesToStrip()} remove (HF Strip content). */
    protected char stripChar() {
        return ' ';
    }

    /** Number of trailing spaces stripped from the whole decoded text (full decode only). */
    protected int trailingSpacesToStrip() {
        return 0;
    }

    @Override
    public String decode(int[] idsToDecode, boolean skipSpecialTokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = -1;
        int emitted = 0;
        for (int id : idsToDecode) {
            checkId(id);
            if (!(skipSpecialTokens && isSpecial(id))) {
                appendPiece(id, emitted++, prev, out);
            }
            prev = id;
        }
        String s = out.toString(StandardCharsets.UTF_8);
        char strip = stripChar();
        s = stripLeading(s, leadingSpacesToStrip(), strip);
        int stop = trailingSpacesToStrip();
        int end = s.length();
        while (stop-- > 0 && end > 0 && s.charAt(end - 1) == strip) {
            end--;
        }
        return s.substring(0, end);
    }

    private static String stripLeading(String s, int n, char strip) {
        int i = 0;
        while (n-- > 0 && i < s.length() && s.charAt(i) == strip) {
            i++;
        }
        return s.substring(i);
    }

    @Override
    public StreamingDecoder streamingDecoder(boolean skipSpecialTokens) {
        return new Streaming(skipSpecialTokens);
    }

    private final class Streaming implements StreamingDecoder {
        private final boolean skipSpecial;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private int prev = -1;
        private int emitted;
        private int stripRemaining = leadingSpacesToStrip();

        Streaming(boolean skipSpecial) {
            this.skipSpecial = skipSpecial;
        }

        @Override
        public String feed(int id) {
            checkId(id);
            if (!(skipSpecial && isSpecial(id))) {
                appendPiece(id, emitted++, prev, pending);
            }
            prev = id;
            return drain(false);
        }

        @Override
        public String flush() {
            return drain(true);
        }

        private String drain(boolean all) {
            byte[] b = pending.toByteArray();
            int cut = all ? b.length : completePrefixLength(b);
            pending.reset();
            pending.write(b, cut, b.length - cut);
            String s = new String(b, 0, cut, StandardCharsets.UTF_8);
            if (stripRemaining > 0 && !s.isEmpty()) {
                int i = 0;
                while (stripRemaining > 0 && i < s.length() && s.charAt(i) == stripChar()) {
                    i++;
                    stripRemaining--;
                }
                s = s.substring(i);
                if (!s.isEmpty()) {
                    stripRemaining = 0;
                }
            }
            return s;
        }
    }

    /** Length of the longest prefix that does not end inside a (so far valid) multi-byte UTF-8 sequence. */
    static int completePrefixLength(byte[] b) {
        int len = b.length;
        for (int i = len - 1; i >= 0 && i >= len - 4; i--) {
            int v = b[i] & 0xFF;
            if ((v & 0xC0) == 0x80) {
                continue;
            }
            int need = v >= 0xF8 ? 1 : v >= 0xF0 ? 4 : v >= 0xE0 ? 3 : v >= 0xC0 ? 2 : 1;
            return i + need > len ? i : len;
        }
        return len;
    }

    protected final void checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new TokenizerException("token id " + id + " out of range [0, " + tokens.length + ")");
        }
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public Set<Integer> stopTokenIds() {
        return stopIds;
    }

    @Override
    public boolean addBosByDefault() {
        return addBos;
    }

    @Override
    public String tokenText(int id) {
        checkId(id);
        return tokens[id];
    }

    @Override
    public Integer idOf(String tokenText) {
        return ids.get(tokenText);
    }

    @Override
    public String chatTemplate() {
        return chatTemplate;
    }

    static void writeUtf8(String s, ByteArrayOutputStream out) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
    }

    /** Parses {@code <0xXX>} byte-token text, returning the byte value or -1. */
    static int parseByteToken(String text) {
        if (text.length() == 6 && text.startsWith("<0x") && text.charAt(5) == '>') {
            int hi = Character.digit(text.charAt(3), 16);
            int lo = Character.digit(text.charAt(4), 16);
            if (hi >= 0 && lo >= 0) {
                return hi * 16 + lo;
            }
        }
        return -1;
    }
}
