package io.conduit.gateway.engine;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** /actuator/health is UP only once every configured model is loaded and its engine running. */
@Component("models")
public class ModelsHealthIndicator implements HealthIndicator {
    private final ModelPool pool;

    public ModelsHealthIndicator(ModelPool pool) {
        this.pool = pool;
    }

    @Override
    public Health health() {
        Health.Builder b = pool.ready() ? Health.up() : Health.down();
        pool.all().forEach(m -> b.withDetail(m.name(), m.engine().stats().waitingSequences() + " waiting"));
        return b.build();
    }
}
