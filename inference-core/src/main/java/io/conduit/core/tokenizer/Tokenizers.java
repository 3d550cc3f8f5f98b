package io.conduit.core.tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Factories for {@link Tokenizer}s.
 * <ul>
 *   <li>{@link #fromGgufMetadata}: {@code tokenizer.ggml.model} "llama" (SentencePiece-style, llama.cpp
 *       {@code llm_tokenizer_spm}) or "gpt2" (byte-level BPE with the pre-tokenizer regex named by
 *       {@code tokenizer.ggml.pre}: default/gpt-2, llama-bpe/llama3, qwen2).</li>
 *   <li>{@link #fromTokenizerJson}: Hugging Face {@code tokenizer.json} with a BPE model (byte-level or
 *       SentencePiece-like with byte fallback); see {@link HfTokenizer} for the supported components.</li>
 * </ul>
 */
public final class Tokenizers {

    private Tokenizers() {}

    /**
     * Builds a tokenizer from GGUF metadata (types as produced by the GGUF reader: String, Long, Float,
     * Boolean, List&lt;String&gt;, int[], float[] ...).
     *
     * @throws TokenizerException when required keys are missing, arrays disagree in length, or the model
     *                            / pre-tokenizer is not supported
     */
    public static Tokenizer fromGgufMetadata(Map<String, Object> metadata) {
        if (metadata == null) {
            throw new TokenizerException("GGUF metadata is null");
        }
        Object modelObj = metadata.get("tokenizer.ggml.model");
        if (modelObj == null) {
            throw new TokenizerException("GGUF metadata has no tokenizer.ggml.model: the file carries no tokenizer");
        }
        String model = expect(metadata, "tokenizer.ggml.model", String.class);
        List<?> tokenList = expect(metadata, "tokenizer.ggml.tokens", List.class);
        if (tokenList == null || tokenList.isEmpty()) {
            throw new TokenizerException("GGUF metadata has no tokenizer.ggml.tokens array (or it is empty)");
        }
        int n = tokenList.size();
        String[] tokens = new String[n];
        for (int i = 0; i < n; i++) {
            if (!(tokenList.get(i) instanceof String s)) {
                throw new TokenizerException("tokenizer.ggml.tokens[" + i + "] is not a string");
            }
            tokens[i] = s;
        }
        float[] scores = expect(metadata, "tokenizer.ggml.scores", float[].class);
        if (scores != null && scores.length != n) {
            throw new TokenizerException("tokenizer.ggml.scores has " + scores.length + " entries but tokenizer.ggml.tokens has " + n);
        }
        int[] types = expect(metadata, "tokenizer.ggml.token_type", int[].class);
        if (types != null && types.length != n) {
            throw new TokenizerException("tokenizer.ggml.token_type has " + types.length + " entries but tokenizer.ggml.tokens has " + n);
        }
        if (types == null) {
            types = new int[n];
            java.util.Arrays.fill(types, TokenType.NORMAL);
        }
        Map<String, Integer> ids = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            ids.put(tokens[i], i); // duplicates: the last one wins, as in llama.cpp
        }
        int bos = optId(metadata, "tokenizer.ggml.bos_token_id", n);
        int eos = optId(metadata, "tokenizer.ggml.eos_token_id", n);
        int unk = optId(metadata, "tokenizer.ggml.unknown_token_id", n);
        Set<Integer> stops = new LinkedHashSet<>();
        for (String k : List.of("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id")) {
            int id = optId(metadata, k, n);
            if (id >= 0) {
                stops.add(id);
            }
        }
        Boolean addBosObj = expect(metadata, "tokenizer.ggml.add_bos_token", Boolean.class);
        String chatTemplate = expect(metadata, "tokenizer.chat_template", String.class);
        switch (model) {
            case "llama" -> {
                if (scores == null) {
                    throw new TokenizerException("tokenizer.ggml.model 'llama' needs tokenizer.ggml.scores, which is missing");
                }
                Boolean asp = expect(metadata, "tokenizer.ggml.add_space_prefix", Boolean.class);
                if (unk < 0) {
                    Integer u = ids.get("<unk>");
                    unk = u == null ? -1 : u;
                }
                return new SpmTokenizer(tokens, ids, scores, types, bos, eos, unk,
                        addBosObj == null || addBosObj, asp == null || asp, stops, chatTemplate);
            }
            case "gpt2" -> {
                List<?> mergeList = expect(metadata, "tokenizer.ggml.merges", List.class);
                if (mergeList == null) {
                    throw new TokenizerException("tokenizer.ggml.model 'gpt2' needs tokenizer.ggml.merges, which is missing");
                }
                List<String[]> merges = new ArrayList<>(mergeList.size());
                for (int i = 0; i < mergeList.size(); i++) {
                    merges.add(splitMerge(String.valueOf(mergeList.get(i)), "tokenizer.ggml.merges[" + i + "]"));
                }
                String pre = expect(metadata, "tokenizer.ggml.pre", String.class);
                boolean ignoreMerges = pre != null && (pre.equals("llama-bpe") || pre.startsWith("llama3") || pre.equals("llama-v3"));
                return new GgufBpeTokenizer(tokens, ids, types, merges, PreTokenizerPatterns.forGgufPre(pre), ignoreMerges,
                        bos, eos, unk, addBosObj != null && addBosObj, stops, chatTemplate);
            }
            default -> throw new TokenizerException("unsupported tokenizer.ggml.model '" + model
                    + "' (supported: llama = SentencePiece-style, gpt2 = byte-level BPE)");
        }
    }

    /**
     * Loads a Hugging Face {@code tokenizer.json}; a sibling {@code tokenizer_config.json} (bos/eos tokens,
     * add_bos_token, chat_template) and {@code generation_config.json} (extra eos ids) are read when present.
     */
    public static Tokenizer fromTokenizerJson(Path tokenizerJson) {
        return HfTokenizer.load(tokenizerJson);
    }

    static String[] splitMerge(String merge, String where) {
        int sp = merge.indexOf(' ', 1);
        if (sp < 0 || merge.indexOf(' ', sp + 1) >= 0) {
            throw new TokenizerException(where + " is not a pair 'a b': '" + merge + "'");
        }
        return new String[]{merge.substring(0, sp), merge.substring(sp + 1)};
    }

    private static <T> T expect(Map<String, Object> md, String key, Class<T> type) {
        Object v = md.get(key);
        if (v == null) {
            return null;
        }
        if (!type.isInstance(v)) {
            throw new TokenizerException("GGUF key " + key + " has type " + v.getClass().getSimpleName()
                    + ", expected " + type.getSimpleName());
        }
        return type.cast(v);
    }

    /** Optional token id; absent or out of range (e.g. 0xFFFFFFFF meaning "none") gives -1. */
    private static int optId(Map<String, Object> md, String key, int vocabSize) {
        Object v = md.get(key);
        if (v == null) {
            return -1;
        }
        if (!(v instanceof Number num)) {
            throw new TokenizerException("GGUF key " + key + " has type " + v.getClass().getSimpleName() + ", expected an integer");
        }
        long id = num.longValue();
        return id >= 0 && id < vocabSize ? (int) id : -1;
    }
}
