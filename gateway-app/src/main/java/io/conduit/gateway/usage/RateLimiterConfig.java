package io.conduit.gateway.usage;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration
public class RateLimiterConfig {
    /** Redis windows when conduit.redis-url (CONDUIT_REDIS_URL) is set, shared by all replicas; else in-process. */
    @Bean
    RateLimiter rateLimiter(@Value("${conduit.redis-url:}") String redisUrl,
                            @Value("${conduit.redis-prefix:conduit:}") String prefix) {
        return redisUrl == null || redisUrl.isBlank() ? new LocalRateLimiter() : new RedisRateLimiter(redisUrl, prefix);
    }
}
