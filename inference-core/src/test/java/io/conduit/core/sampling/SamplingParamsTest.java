package io.conduit.core.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SamplingParamsTest {

    @Test
    void defaultsMatchOpenAiAndVllm() {
        SamplingParams p = SamplingParams.builder().build();
        assertThat(p.temperature()).isEqualTo(1.0);
        assertThat(p.topK()).isEqualTo(-1);
        assertThat(p.topP()).isEqualTo(1.0);
        assertThat(p.minP()).isEqualTo(0.0);
        assertThat(p.repetitionPenalty()).isEqualTo(1.0);
        assertThat(p.presencePenalty()).isEqualTo(0.0);
        assertThat(p.frequencyPenalty()).isEqualTo(0.0);
        assertThat(p.seed()).isNull();
        assertThat(p.maxTokens()).isEqualTo(16);
        assertThat(p.stop()).isEmpty();
        assertThat(p.stopTokenIds()).isEmpty();
        assertThat(p.ignoreEos()).isFalse();
        assertThat(p.logprobs()).isEqualTo(-1);
        assertThat(p.greedy()).isFalse();
        assertThat(p.hasPenalties()).isFalse();
    }

    @Test
    void builderSetsEveryFieldAndToBuilderRoundTrips() {
        SamplingParams p = SamplingParams.builder().temperature(0.7).topK(40).topP(0.9).minP(0.05)
                .repetitionPenalty(1.1).presencePenalty(0.5).frequencyPenalty(-0.5).seed(42L).maxTokens(128)
                .stop("\n\n", "###").stopTokenIds(Set.of(2, 7)).ignoreEos(true).logprobs(5).build();
        assertThat(p).isEqualTo(new SamplingParams(0.7, 40, 0.9, 0.05, 1.1, 0.5, -0.5, 42L, 128,
                List.of("\n\n", "###"), Set.of(2, 7), true, 5));
        assertThat(p.toBuilder().build()).isEqualTo(p);
        assertThat(p.toBuilder().temperature(0).build().greedy()).isTrue();
        assertThat(p.toBuilder().temperature(0).build().topK()).isEqualTo(40);
        assertThat(p.hasPenalties()).isTrue();
    }

    @Test
    void collectionsAreImmutableCopies() {
        var stops = new java.util.ArrayList<>(List.of("a"));
        SamplingParams p = SamplingParams.builder().stop(stops).build();
        stops.add("b");
        assertThat(p.stop()).containsExactly("a");
        assertThatThrownBy(() -> p.stop().add("c")).isInstanceOf(UnsupportedOperationException.class);
        assertThat(new SamplingParams(1, -1, 1, 0, 1, 0, 0, null, 16, null, null, false, -1).stop()).isEmpty();
    }

    @Test
    void boundaryValuesAreAccepted() {
        SamplingParams.builder().temperature(0).topK(0).topP(1).minP(1).repetitionPenalty(10)
                .presencePenalty(-2).frequencyPenalty(2).maxTokens(1).logprobs(20)
                .stop("a", "b", "c", "d").build();
        SamplingParams.builder().temperature(2).topK(-1).topP(1e-9).minP(0).repetitionPenalty(1e-3)
                .presencePenalty(2).frequencyPenalty(-2).logprobs(-1).seed(-5L).build();
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                bad("temperature", "[0, 2]", b -> b.temperature(-0.1)),
                bad("temperature", "[0, 2]", b -> b.temperature(2.01)),
                bad("temperature", "[0, 2]", b -> b.temperature(Double.NaN)),
                bad("temperature", "[0, 2]", b -> b.temperature(Double.POSITIVE_INFINITY)),
                bad("top_k", "-1 or 0", b -> b.topK(-2)),
                bad("top_p", "(0, 1]", b -> b.topP(0)),
                bad("top_p", "(0, 1]", b -> b.topP(1.5)),
                bad("top_p", "(0, 1]", b -> b.topP(Double.NaN)),
                bad("min_p", "[0, 1]", b -> b.minP(-0.01)),
                bad("min_p", "[0, 1]", b -> b.minP(1.01)),
                bad("repetition_penalty", "(0, 10]", b -> b.repetitionPenalty(0)),
                bad("repetition_penalty", "(0, 10]", b -> b.repetitionPenalty(-1)),
                bad("repetition_penalty", "(0, 10]", b -> b.repetitionPenalty(10.5)),
                bad("repetition_penalty", "(0, 10]", b -> b.repetitionPenalty(Double.POSITIVE_INFINITY)),
                bad("presence_penalty", "[-2, 2]", b -> b.presencePenalty(2.5)),
                bad("presence_penalty", "[-2, 2]", b -> b.presencePenalty(Double.NEGATIVE_INFINITY)),
                bad("frequency_penalty", "[-2, 2]", b -> b.frequencyPenalty(-2.5)),
                bad("frequency_penalty", "[-2, 2]", b -> b.frequencyPenalty(Double.NaN)),
                bad("max_tokens", "at least 1", b -> b.maxTokens(0)),
                bad("max_tokens", "at least 1", b -> b.maxTokens(-3)),
                bad("stop", "at most 4", b -> b.stop("a", "b", "c", "d", "e")),
                bad("stop", "non-empty", b -> b.stop("a", "")),
                bad("stop", "non-empty", b -> b.stop(Arrays.asList("a", null))),
                bad("stop_token_ids", "non-negative", b -> b.stopTokenIds(Set.of(-1))),
                bad("logprobs", "[0, 20]", b -> b.logprobs(21)),
                bad("logprobs", "[0, 20]", b -> b.logprobs(-2)));
    }

    private static Arguments bad(String param, String range, UnaryOperator<SamplingParams.Builder> f) {
        return Arguments.of(param, range, f);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("invalid")
    void invalidValueIsRejectedNamingTheParameterAndRange(String param, String range,
            UnaryOperator<SamplingParams.Builder> f) {
        SamplingParams.Builder b = f.apply(SamplingParams.builder());
        assertThatThrownBy(b::build)
                .isInstanceOf(InvalidSamplingParamsException.class)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + param + "'")
                .hasMessageContaining(range)
                .satisfies(e -> assertThat(((InvalidSamplingParamsException) e).parameter()).isEqualTo(param));
    }

    @Test
    void stopsOnEosUnlessIgnoredAndOnStopTokenIds() {
        SamplingParams p = SamplingParams.builder().stopTokenIds(Set.of(7)).build();
        assertThat(p.stopsOn(2, 2)).isTrue();
        assertThat(p.stopsOn(7, 2)).isTrue();
        assertThat(p.stopsOn(3, 2)).isFalse();
        assertThat(p.stopsOn(3, -1)).isFalse();
        SamplingParams ignore = p.toBuilder().ignoreEos(true).build();
        assertThat(ignore.stopsOn(2, 2)).isFalse();
        assertThat(ignore.stopsOn(7, 2)).as("stop_token_ids still apply with ignore_eos").isTrue();
    }

    @Test
    void canonicalConstructorValidatesToo() {
        assertThatThrownBy(() -> new SamplingParams(3, -1, 1, 0, 1, 0, 0, null, 16, null, null, false, -1))
                .isInstanceOf(InvalidSamplingParamsException.class).hasMessageContaining("'temperature'");
    }
}
