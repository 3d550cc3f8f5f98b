package io.conduit.core.sampling;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Per-request sampling parameters, with vLLM / OpenAI semantics. Immutable; every instance is validated (by
 * {@link Builder#build()} and equally by the canonical constructor), an invalid value throws
 * {@link InvalidSamplingParamsException} naming the parameter (wire name) and its allowed range.
 *
 * @param temperature       divides the logits before sampling; in [0, 2]; default 1.0. {@code 0} means greedy
 *                          (argmax, ties to the lowest id, no randomness), see {@link #greedy()}
 * @param topK              keep only the k most likely tokens; {@code -1} or {@code 0} = off (default -1)
 * @param topP              nucleus sampling: keep the smallest set of most likely tokens whose probability
 *                          reaches {@code topP}; in (0, 1]; default 1.0 = off
 * @param minP              drop tokens whose probability is below {@code minP} times that of the most likely
 *                          token; in [0, 1]; default 0.0 = off
 * @param repetitionPenalty vLLM/HF repetition penalty over prompt <em>and</em> generated tokens: positive logits
 *                          are divided by it, negative ones multiplied; in (0, 10] (1 = off, typical &le; 2)
 * @param presencePenalty   OpenAI presence penalty, subtracted once from the logit of every token that was
 *                          generated at least once (prompt not counted); in [-2, 2]; default 0
 * @param frequencyPenalty  OpenAI frequency penalty, subtracted once per previous generation of the token
 *                          (prompt not counted); in [-2, 2]; default 0
 * @param seed              seed of the sequence's random generator; {@code null} (default) = random. With a seed,
 *                          the same logits give the same tokens whatever else runs in the batch
 * @param maxTokens         maximum number of tokens to generate; &ge; 1; default 16 (OpenAI completions)
 * @param stop              at most 4 non-empty stop strings; generation stops when the text contains one and
 *                          it is excluded from the output (see {@link StopStringMatcher}); default none
 * @param stopTokenIds      token ids that also end generation (vLLM {@code stop_token_ids}); ids &ge; 0
 * @param ignoreEos         keep generating past the EOS token (vLLM {@code ignore_eos}); default false
 * @param logprobs          how many top log-probabilities to return per token, in [-1, 20]: {@code -1} (default)
 *                          = not requested, {@code 0} = only the chosen token's, {@code n} = also the n best
 */
public record SamplingParams(double temperature, int topK, double topP, double minP,
        double repetitionPenalty, double presencePenalty, double frequencyPenalty,
        Long seed, int maxTokens, List<String> stop, Set<Integer> stopTokenIds,
        boolean ignoreEos, int logprobs) {

    public static final double MAX_TEMPERATURE = 2.0;
    public static final double MAX_REPETITION_PENALTY = 10.0;
    public static final double MAX_ABS_PRESENCE_FREQUENCY_PENALTY = 2.0;
    public static final int MAX_STOP_STRINGS = 4;
    public static final int MAX_LOGPROBS = 20;
    public static final int DEFAULT_MAX_TOKENS = 16;

    /** Validates every field and makes the collections immutable ({@code null} collections become empty). */
    public SamplingParams {
        checkRange("temperature", temperature, 0, true, MAX_TEMPERATURE, true);
        if (topK < -1) {
            throw invalid("top_k", topK, "must be -1 or 0 (disabled) or a positive integer");
        }
        checkRange("top_p", topP, 0, false, 1, true);
        checkRange("min_p", minP, 0, true, 1, true);
        checkRange("repetition_penalty", repetitionPenalty, 0, false, MAX_REPETITION_PENALTY, true);
        checkRange("presence_penalty", presencePenalty, -MAX_ABS_PRESENCE_FREQUENCY_PENALTY, true,
                MAX_ABS_PRESENCE_FREQUENCY_PENALTY, true);
        checkRange("frequency_penalty", frequencyPenalty, -MAX_ABS_PRESENCE_FREQUENCY_PENALTY, true,
                MAX_ABS_PRESENCE_FREQUENCY_PENALTY, true);
        if (maxTokens < 1) {
            throw invalid("max_tokens", maxTokens, "must be at least 1");
        }
        stop = validateStop(stop);
        stopTokenIds = validateStopTokenIds(stopTokenIds);
        if (logprobs < -1 || logprobs > MAX_LOGPROBS) {
            throw invalid("logprobs", logprobs,
                    "must be in [0, " + MAX_LOGPROBS + "] (or -1 when not requested)");
        }
    }

    /** A builder holding the defaults (temperature 1, everything off, max_tokens 16, logprobs -1). */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults, see {@link #builder()}. */
    public static SamplingParams defaults() {
        return builder().build();
    }

    /** A builder initialised with this instance's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * True for temperature 0: the sampler then takes the argmax of the penalized logits (lowest id on ties),
     * ignores top-k/top-p/min-p and never touches the random generator.
     */
    public boolean greedy() {
        return temperature == 0.0;
    }

    /**
     * Whether generating {@code tokenId} ends the sequence (finish_reason "stop"): it is one of
     * {@link #stopTokenIds()}, or it is the model's EOS token and {@link #ignoreEos()} is false. The stop token
     * itself is not part of the output text (vLLM). Stop strings are handled by {@link StopStringMatcher} and
     * {@link #maxTokens()} (finish_reason "length") by the engine.
     *
     * @param eosTokenId the model's EOS id, or a negative number if it has none
     */
    public boolean stopsOn(int tokenId, int eosTokenId) {
        return (!ignoreEos && tokenId == eosTokenId && eosTokenId >= 0) || stopTokenIds.contains(tokenId);
    }

    /** True when a repetition, presence or frequency penalty is active. */
    public boolean hasPenalties() {
        return repetitionPenalty != 1.0 || presencePenalty != 0.0 || frequencyPenalty != 0.0;
    }

    private static void checkRange(String name, double value, double min, boolean minInclusive,
            double max, boolean maxInclusive) {
        boolean ok = Double.isFinite(value)
                && (minInclusive ? value >= min : value > min)
                && (maxInclusive ? value <= max : value < max);
        if (!ok) {
            throw invalid(name, value, "must be a finite number in " + (minInclusive ? "[" : "(")
                    + fmt(min) + ", " + fmt(max) + (maxInclusive ? "]" : ")"));
        }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    private static InvalidSamplingParamsException invalid(String name, Object value, String rule) {
        return new InvalidSamplingParamsException(name,
                "Invalid value for '" + name + "': " + value + "; " + rule + ".");
    }

    private static List<String> validateStop(List<String> stop) {
        if (stop == null || stop.isEmpty()) {
            return List.of();
        }
        if (stop.size() > MAX_STOP_STRINGS) {
            throw invalid("stop", stop.size() + " strings",
                    "at most " + MAX_STOP_STRINGS + " stop strings are allowed");
        }
        for (String s : stop) {
            if (s == null || s.isEmpty()) {
                throw invalid("stop", s == null ? "null" : "\"\"", "each stop string must be non-empty");
            }
        }
        return List.copyOf(stop);
    }

    private static Set<Integer> validateStopTokenIds(Set<Integer> ids) {
        if (ids == null || ids.isEmpty()) {
            return Set.of();
        }
        for (Integer id : ids) {
            if (id == null || id < 0) {
                throw invalid("stop_token_ids", id, "token ids must be non-negative integers");
            }
        }
        return Set.copyOf(ids);
    }

    /** Mutable builder; {@link #build()} validates. Defaults as documented on {@link SamplingParams}. */
    public static final class Builder {
        private double temperature = 1.0;
        private int topK = -1;
        private double topP = 1.0;
        private double minP = 0.0;
        private double repetitionPenalty = 1.0;
        private double presencePenalty = 0.0;
        private double frequencyPenalty = 0.0;
        private Long seed;
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private List<String> stop = List.of();
        private Set<Integer> stopTokenIds = Set.of();
        private boolean ignoreEos;
        private int logprobs = -1;

        private Builder() {
        }

        private Builder(SamplingParams p) {
            temperature = p.temperature;
            topK = p.topK;
            topP = p.topP;
            minP = p.minP;
            repetitionPenalty = p.repetitionPenalty;
            presencePenalty = p.presencePenalty;
            frequencyPenalty = p.frequencyPenalty;
            seed = p.seed;
            maxTokens = p.maxTokens;
            stop = p.stop;
            stopTokenIds = p.stopTokenIds;
            ignoreEos = p.ignoreEos;
            logprobs = p.logprobs;
        }

        public Builder temperature(double v) { temperature = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder topP(double v) { topP = v; return this; }
        public Builder minP(double v) { minP = v; return this; }
        public Builder repetitionPenalty(double v) { repetitionPenalty = v; return this; }
        public Builder presencePenalty(double v) { presencePenalty = v; return this; }
        public Builder frequencyPenalty(double v) { frequencyPenalty = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder maxTokens(int v) { maxTokens = v; return this; }
        /** Stop strings; the list is copied, {@code null} means none. */
        public Builder stop(List<String> v) { stop = v == null ? null : new ArrayList<>(v); return this; }
        public Builder stop(String... v) { stop = v == null ? null : new ArrayList<>(java.util.Arrays.asList(v)); return this; }
        /** Stop token ids; the set is copied, {@code null} means none. */
        public Builder stopTokenIds(Collection<Integer> v) {
            stopTokenIds = v == null ? null : new java.util.HashSet<>(v);
            return this;
        }
        public Builder ignoreEos(boolean v) { ignoreEos = v; return this; }
        public Builder logprobs(int v) { logprobs = v; return this; }

        /** @throws InvalidSamplingParamsException if a value is out of range */
        public SamplingParams build() {
            return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                    frequencyPenalty, seed, maxTokens, stop, stopTokenIds, ignoreEos, logprobs);
        }
    }
}
