package io.conduit.gateway.engine;

import io.conduit.core.engine.EngineOptions;
import io.conduit.gateway.GatewayProperties.ModelSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelPoolOptionsTest {
    @Test
    void kvCacheSettingsReachTheEngine() {
        EngineOptions d = ModelPool.engineOptions(new ModelSpec("m", "p", List.of(), null, null, null, null));
        assertThat(d).isEqualTo(EngineOptions.defaults());
        EngineOptions q = ModelPool.engineOptions(new ModelSpec("m", "p", List.of(), null, null, 64, "Q8_0"));
        assertThat(q.quantizedKv()).isTrue();
        assertThat(q.kvCacheBytes()).isEqualTo(64L << 20);
        assertThatThrownBy(() -> ModelPool.engineOptions(new ModelSpec("m", "p", List.of(), null, null, null, "fp8")))
                .hasMessageContaining("kv-cache-dtype must be f32 or q8_0, not fp8");
    }
}
