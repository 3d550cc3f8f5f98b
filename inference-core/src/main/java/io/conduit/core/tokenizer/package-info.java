/**
 * Tokenizers that match their reference implementations token for token.
 * <p>
 * {@link io.conduit.core.tokenizer.Tokenizers#fromGgufMetadata} reads {@code tokenizer.ggml.*}: model
 * {@code "llama"} is SentencePiece-style (llama.cpp {@code llm_tokenizer_spm}: score-ordered pair merges,
 * byte fallback to {@code <0xXX>} tokens, '▁' for spaces, add_space_prefix), model {@code "gpt2"} is
 * byte-level BPE with the pre-tokenizer regex named by {@code tokenizer.ggml.pre} (GPT-2, Llama 3, Qwen2).
 * {@link io.conduit.core.tokenizer.Tokenizers#fromTokenizerJson} reads a Hugging Face {@code tokenizer.json}
 * (BPE model; normalizers, pre-tokenizers and decoders listed on {@code HfTokenizer}) plus the sibling
 * {@code tokenizer_config.json}/{@code generation_config.json}.
 * <p>
 * Decoding is byte based for every kind of vocabulary: each token contributes bytes, the concatenation is
 * UTF-8 decoded; {@link io.conduit.core.tokenizer.StreamingDecoder} runs the same pipeline incrementally and
 * holds back an incomplete UTF-8 sequence, so streamed text always equals the full decode.
 * <p>
 * Leading space: SentencePiece GGUF vocabularies drop the space of the token right after BOS (the one
 * add_space_prefix added); a continuation decoded without BOS keeps it ({@code " Once upon..."}).
 * tokenizer.json tokenizers follow their decoder (e.g. {@code Strip} / {@code Metaspace}).
 */
package io.conduit.core.tokenizer;
