package io.conduit.core.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pre-tokenizer regexes of byte-level BPE models, selected by GGUF {@code tokenizer.ggml.pre}. Compiled
 * with {@link Pattern#UNICODE_CHARACTER_CLASS} so that {@code \s} means Unicode whitespace as in the
 * Rust/Oniguruma originals; Java supports the {@code (?i:...)} groups natively (ASCII case folding, which
 * is all the contractions need).
 */
final class PreTokenizerPatterns {

    static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    static final String LLAMA3 =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2 =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private PreTokenizerPatterns() {}

    static Pattern compile(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** Regex for a GGUF {@code tokenizer.ggml.pre} value; null/"default"/"gpt-2" mean GPT-2. */
    static Pattern forGgufPre(String pre) {
        if (pre == null) {
            return compile(GPT2);
        }
        return switch (pre) {
            case "default", "gpt-2", "gpt2" -> compile(GPT2);
            case "llama-bpe", "llama3", "llama-v3", "llama-3", "smaug-bpe", "falcon3", "pixtral" -> compile(LLAMA3);
            case "qwen2", "qwen", "deepseek-r1-qwen" -> compile(QWEN2);
            default -> throw new TokenizerException("unsupported tokenizer.ggml.pre '" + pre
                    + "' (supported: default, gpt-2, llama-bpe/llama3, qwen2)");
        };
    }

    /** Splits text into matches and the gaps between them (HF Split behaviour "Isolated"). */
    static List<String> splitIsolated(Pattern p, String text) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) {
                continue;
            }
            if (m.start() > last) {
                out.add(text.substring(last, m.start()));
            }
            out.add(m.group());
            last = m.end();
        }
        if (last < text.length()) {
            out.add(text.substring(last));
        }
        return out;
    }
}
