package io.conduit.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * SentencePiece-style tokenizer for GGUF vocabularies with {@code tokenizer.ggml.model = "llama"}, a port
 * of llama.cpp's {@code llm_tokenizer_spm}: spaces become '▁', a '▁' is prepended to each text fragment
 * at the start or after a special token (add_space_prefix), the text is split into characters and the
 * adjacent pair whose concatenation is a vocabulary token with the highest score is merged repeatedly
 * (ties: leftmost). Characters that are not tokens fall back to byte tokens {@code <0xXX>}, else unknown.
 */
final class SpmTokenizer extends BaseTokenizer {

    static final char SPACE_MARK = '\u2581';

    private final float[] scores;
    private final int[] types;
    private final int unkId;
    private final boolean addSpacePrefix;
    private final int[] byteToToken = new int[256];
    private final int[] tokenToByte;
    private final TokenMatcher matcherWithSpecial;
    private final TokenMatcher matcherPlain;

    SpmTokenizer(String[] tokens, Map<String, Integer> ids, float[] scores, int[] types, int bosId, int eosId,
                 int unkId, boolean addBos, boolean addSpacePrefix, Set<Integer> extraStops, String chatTemplate) {
        super(tokens, ids, bosId, eosId, addBos,
                withKnownEndOfTurn(extraStops, ids, id -> types[id] == TokenType.CONTROL), chatTemplate);
        this.scores = scores;
        this.types = types;
        this.unkId = unkId;
        this.addSpacePrefix = addSpacePrefix;
        this.tokenToByte = new int[tokens.length];
        Arrays.fill(tokenToByte, -1);
        Arrays.fill(byteToToken, -1);
        boolean anyByteType = false;
        for (int t : types) {
            anyByteType |= t == TokenType.BYTE;
        }
        for (int i = 0; i < tokens.length; i++) {
            // Byte tokens: token_type 6, or the <0xXX> text when the metadata has no byte types.
            if (types[i] == TokenType.BYTE || (!anyByteType && types[i] != TokenType.CONTROL)) {
                int b = parseByteToken(tokens[i]);
                if (b >= 0) {
                    tokenToByte[i] = b;
                    if (byteToToken[b] < 0) {
                        byteToToken[b] = i;
                    }
                }
            }
        }
        this.matcherWithSpecial = TokenMatcher.forGgufTypes(tokens, types, true);
        this.matcherPlain = TokenMatcher.forGgufTypes(tokens, types, false);
    }

    @Override
    public int[] encode(String text, boolean addBosToken, boolean parseSpecial) {
        IntList out = new IntList();
        if (addBosToken && bosId >= 0) {
            out.add(bosId);
        }
        boolean prevSpecial = true;
        for (TokenMatcher.Segment seg : (parseSpecial ? matcherWithSpecial : matcherPlain).split(text, 0)) {
            if (seg.isToken()) {
                out.add(seg.id());
                prevSpecial = true;
            } else {
                String s = (addSpacePrefix && prevSpecial ? " " : "") + seg.text();
                tokenizeFragment(s.replace(' ', SPACE_MARK), out);
                prevSpecial = false;
            }
        }
        return out.toArray();
    }

    private record Bigram(int left, int right, float score, int size) {}

    private void tokenizeFragment(String text, IntList out) {
        // Symbols: one per code point, as a doubly linked list over [start, start+len) of text.
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, off = 0; i < n; i++) {
            int cp = text.codePointAt(off);
            start[i] = off;
            len[i] = Character.charCount(cp);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            off += len[i];
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> {
            int c = Float.compare(b.score(), a.score());
            return c != 0 ? c : Integer.compare(a.left(), b.left());
        });
        for (int i = 1; i < n; i++) {
            tryAddBigram(text, i - 1, i, start, len, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int l = b.left();
            int r = b.right();
            // Skip stale entries: either side already merged away or changed size.
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != b.size()) {
                continue;
            }
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            if (prev[l] >= 0) {
                tryAddBigram(text, prev[l], l, start, len, queue);
            }
            if (next[l] >= 0) {
                tryAddBigram(text, l, next[l], start, len, queue);
            }
        }
        for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
            String piece = text.substring(start[i], start[i] + len[i]);
            Integer id = ids.get(piece);
            if (id != null) {
                out.add(id);
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                    out.add(byteToken(b & 0xFF));
                }
            }
        }
    }

    private void tryAddBigram(String text, int left, int right, int[] start, int[] len, PriorityQueue<Bigram> queue) {
        int size = len[left] + len[right];
        Integer id = ids.get(text.substring(start[left], start[left] + size));
        if (id != null) {
            queue.add(new Bigram(left, right, scores[id], size));
        }
    }

    private int byteToken(int b) {
        if (byteToToken[b] >= 0) {
            return byteToToken[b];
        }
        if (b < 0x80) {
            Integer single = ids.get(String.valueOf((char) b));
            if (single != null) {
                return single;
            }
        }
        if (unkId >= 0) {
            return unkId;
        }
        throw new TokenizerException(String.format("cannot encode byte 0x%02X: no byte token <0x%02X> and no unknown token", b, b));
    }

    @Override
    protected void appendPiece(int id, int emittedIndex, int prevId, ByteArrayOutputStream out) {
        if (tokenToByte[id] >= 0) {
            out.write(tokenToByte[id]);
            return;
        }
        int type = types[id];
        if (type == TokenType.NORMAL || type == TokenType.UNUSED || type == TokenType.UNDEFINED || type == TokenType.BYTE) {
            String text = tokens[id].replace(SPACE_MARK, ' ');
            // The space add_space_prefix put in front of the text is not part of it: drop it after BOS.
            if (prevId >= 0 && prevId == bosId && addSpacePrefix && text.startsWith(" ")) {
                text = text.substring(1);
            }
            writeUtf8(text, out);
        } else {
            writeUtf8(tokens[id], out);
        }
    }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return types[id] == TokenType.CONTROL || types[id] == TokenType.UNKNOWN;
    }
}
