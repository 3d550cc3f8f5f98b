package io.conduit.core.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds literal token texts (special / added tokens) in text, leftmost-longest, and splits the text
 * around them. Supports the Hugging Face {@code lstrip}/{@code rstrip} options (the match absorbs
 * adjacent whitespace).
 */
final class TokenMatcher {

    record Entry(String text, int id, boolean lstrip, boolean rstrip) {}

    /** A piece of the input: plain text ({@code id == -1}) or a matched token; {@code start} is its offset in the input. */
    record Segment(String text, int id, int start) {
        boolean isToken() {
            return id >= 0;
        }
    }

    private final Map<Character, List<Entry>> byFirstChar = new HashMap<>();
    private final boolean empty;

    /**
     * The matcher for a GGUF vocabulary: user-defined tokens are always recognised in text (as llama.cpp
     * does); control and unknown tokens only when {@code withSpecial}.
     */
    static TokenMatcher forGgufTypes(String[] tokens, int[] types, boolean withSpecial) {
        List<Entry> entries = new java.util.ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            boolean special = types[i] == TokenType.CONTROL || types[i] == TokenType.UNKNOWN;
            if (types[i] == TokenType.USER_DEFINED || (withSpecial && special)) {
                entries.add(new Entry(tokens[i], i, false, false));
            }
        }
        return new TokenMatcher(entries);
    }

    TokenMatcher(List<Entry> entries) {
        for (Entry e : entries) {
            if (e.text().isEmpty()) {
                continue;
            }
            byFirstChar.computeIfAbsent(e.text().charAt(0), c -> new ArrayList<>()).add(e);
        }
        byFirstChar.values().forEach(l -> l.sort(Comparator.comparingInt((Entry e) -> e.text().length()).reversed()));
        empty = byFirstChar.isEmpty();
    }

    /** Splits {@code text} (which starts at {@code baseOffset} of the original input) into segments; empty text segments are dropped. */
    List<Segment> split(String text, int baseOffset) {
        List<Segment> out = new ArrayList<>();
        if (empty) {
            if (!text.isEmpty()) {
                out.add(new Segment(text, -1, baseOffset));
            }
            return out;
        }
        int textStart = 0;
        int i = 0;
        while (i < text.length()) {
            List<Entry> candidates = byFirstChar.get(text.charAt(i));
            Entry hit = null;
            if (candidates != null) {
                for (Entry e : candidates) {
                    if (text.startsWith(e.text(), i)) {
                        hit = e;
                        break;
                    }
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            int matchStart = i;
            int matchEnd = i + hit.text().length();
            if (hit.lstrip()) {
                while (matchStart > textStart && Character.isWhitespace(text.charAt(matchStart - 1))) {
                    matchStart--;
                }
            }
            if (hit.rstrip()) {
                while (matchEnd < text.length() && Character.isWhitespace(text.charAt(matchEnd))) {
                    matchEnd++;
                }
            }
            if (matchStart > textStart) {
                out.add(new Segment(text.substring(textStart, matchStart), -1, baseOffset + textStart));
            }
            out.add(new Segment(text.substring(matchStart, matchEnd), hit.id(), baseOffset + matchStart));
            i = matchEnd;
            textStart = matchEnd;
        }
        if (textStart < text.length()) {
            out.add(new Segment(text.substring(textStart), -1, baseOffset + textStart));
        }
        return out;
    }
}
