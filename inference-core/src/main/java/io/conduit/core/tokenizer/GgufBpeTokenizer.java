package io.conduit.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Byte-level BPE for GGUF vocabularies with {@code tokenizer.ggml.model = "gpt2"} (GPT-2, Llama 3,
 * Qwen2, ...): text is split by the pre-tokenizer regex named by {@code tokenizer.ggml.pre}, each piece's
 * UTF-8 bytes are mapped to GPT-2 byte characters and merged by rank using {@code tokenizer.ggml.merges}.
 */
final class GgufBpeTokenizer extends BaseTokenizer {

    private final int[] types;
    private final Pattern pre;
    private final BpeModel model;
    private final TokenMatcher matcherWithSpecial;
    private final TokenMatcher matcherPlain;

    GgufBpeTokenizer(String[] tokens, Map<String, Integer> ids, int[] types, List<String[]> merges, Pattern pre,
                     boolean ignoreMerges, int bosId, int eosId, int unkId, boolean addBos, Set<Integer> extraStops,
                     String chatTemplate) {
        super(tokens, ids, bosId, eosId, addBos,
                withKnownEndOfTurn(extraStops, ids, id -> types[id] == TokenType.CONTROL), chatTemplate);
        this.types = types;
        this.pre = pre;
        this.model = new BpeModel(ids, merges, unkId, false, false, ignoreMerges, false);
        this.matcherWithSpecial = TokenMatcher.forGgufTypes(tokens, types, true);
        this.matcherPlain = TokenMatcher.forGgufTypes(tokens, types, false);
    }

    @Override
    public int[] encode(String text, boolean addBosToken, boolean parseSpecial) {
        IntList out = new IntList();
        if (addBosToken && bosId >= 0) {
            out.add(bosId);
        }
        for (TokenMatcher.Segment seg : (parseSpecial ? matcherWithSpecial : matcherPlain).split(text, 0)) {
            if (seg.isToken()) {
                out.add(seg.id());
            } else {
                for (String piece : PreTokenizerPatterns.splitIsolated(pre, seg.text())) {
                    model.encodeWord(ByteLevel.encode(piece), out);
                }
            }
        }
        return out.toArray();
    }

    @Override
    protected void appendPiece(int id, int emittedIndex, int prevId, ByteArrayOutputStream out) {
        int type = types[id];
        if (type == TokenType.CONTROL || type == TokenType.USER_DEFINED || type == TokenType.UNKNOWN) {
            writeUtf8(tokens[id], out);
        } else if (type == TokenType.BYTE && parseByteToken(tokens[id]) >= 0) {
            out.write(parseByteToken(tokens[id]));
        } else {
            ByteLevel.decodeTo(tokens[id], out);
        }
    }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return types[id] == TokenType.CONTROL || types[id] == TokenType.UNKNOWN;
    }
}
