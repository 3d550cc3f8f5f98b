package io.conduit.gateway;

import io.conduit.core.engine.DeadlineExceededException;
import io.conduit.core.engine.EngineOverloadedException;
import io.conduit.core.engine.PromptTooLongException;
import io.conduit.core.sampling.SamplingParams;
import io.conduit.core.sampling.InvalidSamplingParamsException;
import io.conduit.gateway.web.ApiException;
import io.conduit.gateway.web.ErrorWriter;
import org.junit.jupiter.api.Test;
import org.springframework.core.io.buffer.DataBufferLimitException;

import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Engine and framework failures map to the documented OpenAI error, and internals never leak. */
class ErrorMappingTest {

    @Test
    void engineFailuresMapToStatusCodeAndRetryAfter() {
        ApiException over = ErrorWriter.toApi(new EngineOverloadedException("queue full (256 waiting)"));
        assertThat(over.status().value()).isEqualTo(503);
        assertThat(over.code()).isEqualTo("engine_overloaded");
        assertThat(over.retryAfterSeconds()).isPositive();

        ApiException deadline = ErrorWriter.toApi(new DeadlineExceededException("waited"));
        assertThat(deadline.status().value()).isEqualTo(503);
        assertThat(deadline.retryAfterSeconds()).isPositive();

        ApiException timeout = ErrorWriter.toApi(new TimeoutException());
        assertThat(timeout.status().value()).isEqualTo(503);
        assertThat(timeout.code()).isEqualTo("request_timeout");

        ApiException tooLong = ErrorWriter.toApi(new PromptTooLongException(3000, 2048));
        assertThat(tooLong.status().value()).isEqualTo(400);
        assertThat(tooLong.code()).isEqualTo("context_length_exceeded");
    }

    @Test
    void invalidSamplingParamsNameTheParameter() {
        InvalidSamplingParamsException e = catchThrowableOfType(InvalidSamplingParamsException.class,
                () -> SamplingParams.builder().topP(0).build());
        ApiException api = ErrorWriter.toApi(e);
        assertThat(api.status().value()).isEqualTo(400);
        assertThat(api.param()).isEqualTo("top_p");
        assertThat(ErrorWriter.body(api)).contains("\"param\":\"top_p\"").contains("invalid_request_error");
    }

    @Test
    void unexpectedFailuresAre500WithoutDetails() {
        ApiException api = ErrorWriter.toApi(new IllegalStateException("password=hunter2 at Foo.java:12"));
        assertThat(api.status().value()).isEqualTo(500);
        String body = ErrorWriter.body(api);
        assertThat(body).doesNotContain("hunter2").doesNotContain("Foo.java").doesNotContain("IllegalStateException");
        assertThat(body).contains("\"type\":\"server_error\"");
    }

    @Test
    void nestedBufferLimitIs413() {
        ApiException api = ErrorWriter.toApi(new RuntimeException("decode", new DataBufferLimitException("too big")));
        assertThat(api.status().value()).isEqualTo(413);
        assertThat(api.code()).isEqualTo("request_too_large");
    }
}
