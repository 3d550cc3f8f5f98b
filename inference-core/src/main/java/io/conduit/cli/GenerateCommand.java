package io.conduit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.conduit.core.chat.ChatMessage;
import io.conduit.core.engine.GenerationResult;
import io.conduit.core.engine.Generator;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.model.ModelsDirectory;
import io.conduit.core.sampling.SampledToken;
import io.conduit.core.sampling.SamplingParams;
import io.conduit.core.sampling.TopLogprob;
import io.conduit.core.quant.Quantizer;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code conduit generate}: one completion from a local model, as text or as one JSON object. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a completion from a model file (GGUF) or a Hugging Face directory.")
public final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "PATH",
            description = "GGUF file or Hugging Face directory (default: the demo model ../shared/models/stories260K.gguf)")
    Path model;

    static final class PromptSource {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text (BOS added when the model wants it)")
        String text;

        @Option(names = "--prompt-ids", paramLabel = "IDS", split = ",", description = "Prompt as token ids, used as given: 1,2,3")
        int[] ids;
    }

    @ArgGroup(multiplicity = "0..1")
    PromptSource prompt;

    @Option(names = "--chat", description = "Render --prompt as a user message through the model's chat template")
    boolean chat;

    @Option(names = "--max-tokens", defaultValue = "128", description = "Tokens to generate at most (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "0 = greedy (default ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-k", defaultValue = "-1", description = "Keep the k most likely tokens; -1 = off")
    int topK;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass")
    double topP;

    @Option(names = "--min-p", defaultValue = "0.0", description = "Drop tokens below min-p x the top probability")
    double minP;

    @Option(names = "--repetition-penalty", defaultValue = "1.0")
    double repetitionPenalty;

    @Option(names = "--presence-penalty", defaultValue = "0.0")
    double presencePenalty;

    @Option(names = "--frequency-penalty", defaultValue = "0.0")
    double frequencyPenalty;

    @Option(names = "--seed", description = "Makes sampling reproducible")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop string (repeatable, up to 4)")
    List<String> stop = new ArrayList<>();

    @Option(names = "--stop-token-ids", paramLabel = "IDS", split = ",", description = "Extra token ids that end generation")
    List<Integer> stopTokenIds = new ArrayList<>();

    @Option(names = "--ignore-eos", description = "Keep generating past the end-of-sequence token")
    boolean ignoreEos;

    @Option(names = "--logprobs", paramLabel = "N", defaultValue = "-1", description = "Return logprobs with the top N alternatives (0-20)")
    int logprobs;

    @Option(names = "--quantize", paramLabel = "TYPE", description = "Quantize F32/F16/BF16 weights on load: q8_0 or q4_0")
    String quantize;

    @Option(names = "--json", description = "Print one JSON object instead of streaming text")
    boolean json;

    @Override
    public Integer call() {
        SamplingParams params = SamplingParams.builder()
                .temperature(temperature).topK(topK).topP(topP).minP(minP)
                .repetitionPenalty(repetitionPenalty).presencePenalty(presencePenalty)
                .frequencyPenalty(frequencyPenalty).seed(seed).maxTokens(maxTokens)
                .stop(stop).stopTokenIds(stopTokenIds).ignoreEos(ignoreEos).logprobs(logprobs)
                .build();
        Path modelPath = model != null ? model : ModelsDirectory.demoModel();
        GgmlType quantizeTo = quantize == null ? null : Quantizer.parseTarget(quantize);
        try (LoadedModel m = ModelLoader.load(modelPath, new ModelLoader.LoadOptions(quantizeTo))) {
            int[] promptIds = promptIds(m);
            Generator generator = new Generator(m);
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            GenerationResult r;
            if (json) {
                r = generator.generate(promptIds, params);
                out.println(toJson(modelPath, m, r));
            } else {
                r = generator.generate(promptIds, params, (token, delta) -> out.print(delta));
                out.println();
                double decodeSec = r.decodeNanos() / 1e9;
                System.err.printf("[%d prompt + %d generated tokens, finish %s, prefill %.1f ms, decode %.1f tok/s]%n",
                        r.promptIds().length, r.tokenIds().length, r.finishReason().apiName(),
                        r.prefillNanos() / 1e6, decodeSec > 0 ? (r.tokenIds().length - 1) / decodeSec : 0.0);
            }
        }
        return 0;
    }

    private int[] promptIds(LoadedModel m) {
        Tokenizer tok = m.tokenizer();
        if (prompt != null && prompt.ids != null) {
            if (chat) throw new IllegalArgumentException("--chat needs --prompt TEXT, not --prompt-ids");
            return prompt.ids;
        }
        String text = prompt != null && prompt.text != null ? prompt.text : "";
        if (chat) {
            String rendered = m.chatTemplateRenderer().render(List.of(new ChatMessage("user", text)), true);
            // Templates usually write BOS themselves; add it only when they did not.
            boolean templateHasBos = tok.bosId() >= 0 && rendered.startsWith(tok.tokenText(tok.bosId()));
            return tok.encode(rendered, tok.addBosByDefault() && !templateHasBos, true);
        }
        int[] ids = tok.encode(text, tok.addBosByDefault(), true);
        if (ids.length == 0) throw new IllegalArgumentException("prompt is empty: give --prompt TEXT or --prompt-ids");
        return ids;
    }

    private static String toJson(Path modelPath, LoadedModel m, GenerationResult r) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode o = mapper.createObjectNode();
        o.put("model", modelPath.toString());
        ArrayNode prompt = o.putArray("prompt_ids");
        Arrays.stream(r.promptIds()).forEach(prompt::add);
        ArrayNode tokens = o.putArray("token_ids");
        Arrays.stream(r.tokenIds()).forEach(tokens::add);
        o.put("text", r.text());
        o.put("finish_reason", r.finishReason().apiName());
        ObjectNode usage = o.putObject("usage");
        usage.put("prompt_tokens", r.promptIds().length);
        usage.put("completion_tokens", r.tokenIds().length);
        usage.put("total_tokens", r.promptIds().length + r.tokenIds().length);
        if (!r.logprobs().isEmpty()) {
            ArrayNode lp = o.putArray("logprobs");
            for (SampledToken t : r.logprobs()) {
                ObjectNode e = lp.addObject();
                e.put("token_id", t.tokenId());
                e.put("token", m.tokenizer().tokenText(t.tokenId()));
                e.put("logprob", t.logprob());
                ArrayNode top = e.putArray("top_logprobs");
                for (TopLogprob tl : t.topLogprobs()) {
                    top.addObject().put("token_id", tl.tokenId()).put("token", m.tokenizer().tokenText(tl.tokenId()))
                            .put("logprob", tl.logprob());
                }
            }
        }
        ObjectNode timings = o.putObject("timings");
        timings.put("prefill_ms", r.prefillNanos() / 1e6);
        timings.put("decode_ms", r.decodeNanos() / 1e6);
        return o.toString();
    }
}
