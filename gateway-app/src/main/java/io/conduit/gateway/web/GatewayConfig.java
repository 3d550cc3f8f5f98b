package io.conduit.gateway.web;

import io.conduit.gateway.GatewayProperties;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;

@Configuration
public class GatewayConfig {
    private static final Logger log = LoggerFactory.getLogger(GatewayConfig.class);

    /** Resilience4j time limit around engine calls: whole response when not streaming, per chunk when streaming. */
    @Bean
    TimeLimiter engineTimeLimiter(GatewayProperties props) {
        return TimeLimiter.of("engine", TimeLimiterConfig.custom()
                .timeoutDuration(props.requestTimeout()).cancelRunningFuture(true).build());
    }

    /** The line ./conduit serve users (and scripts) wait for. */
    @EventListener(ApplicationReadyEvent.class)
    public void ready(ApplicationReadyEvent event) {
        Environment env = event.getApplicationContext().getEnvironment();
        String port = env.getProperty("local.server.port", env.getProperty("server.port", "8080"));
        System.out.println("conduit: gateway ready on http://127.0.0.1:" + port + " (OpenAI API at /v1)");
        System.out.flush();
    }
}
