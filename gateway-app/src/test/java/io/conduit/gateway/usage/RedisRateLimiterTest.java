package io.conduit.gateway.usage;

import io.conduit.gateway.auth.Caller;
import io.conduit.gateway.auth.Role;
import io.conduit.gateway.web.ApiException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Redis-backed windows against the real Redis on 127.0.0.1:6379 (CONDUIT_TEST_REDIS_URL): two limiter
 * instances stand for two gateway replicas and must share one count.
 */
class RedisRateLimiterTest {
    private static final String URL = System.getenv().getOrDefault("CONDUIT_TEST_REDIS_URL", "redis://127.0.0.1:6379");
    private RedisRateLimiter a;
    private RedisRateLimiter b;
    private final String prefix = "conduit-test-" + UUID.randomUUID() + ":";

    static boolean redisUp() {
        try (Socket s = new Socket()) {
            java.net.URI u = java.net.URI.create(URL);
            s.connect(new InetSocketAddress(u.getHost(), u.getPort()), 500);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @BeforeEach
    void connect() {
        assumeTrue(redisUp(), "no Redis at " + URL);
        a = new RedisRateLimiter(URL, prefix);
        b = new RedisRateLimiter(URL, prefix);
    }

    @AfterEach
    void close() {
        if (a != null) a.close();
        if (b != null) b.close();
    }

    static Caller caller(Integer keyRpm, Integer keyTpm, Integer teamRpm) {
        return new Caller(42, "ck-test", "team-x", Role.MEMBER, null, null, keyRpm, keyTpm, teamRpm, null, 1.0);
    }

    @Test
    void replicasShareTheRequestsPerMinuteWindow() {
        Caller c = caller(3, null, null);
        a.admit(c, 10).block();
        b.admit(c, 10).block();
        a.admit(c, 10).block();
        assertThatThrownBy(() -> b.admit(c, 10).block())
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status().value()).isEqualTo(429);
                    assertThat(e.code()).isEqualTo("rate_limit_exceeded");
                    assertThat(e.retryAfterSeconds()).isBetween(1L, 60L);
                });
    }

    @Test
    void tokensPerMinuteWithRefundOfUnusedTokens() {
        Caller c = caller(null, 50, null);
        RateLimiter.Ticket t = a.admit(c, 30).block();
        assertThatThrownBy(() -> b.admit(c, 30).block()).isInstanceOf(ApiException.class);
        a.refund(t, 10); // used 10 of 30: 20 come back, 10 stay counted
        long deadline = System.currentTimeMillis() + 2000;
        RateLimiter.Ticket second = null;
        while (second == null && System.currentTimeMillis() < deadline) {
            try {
                second = b.admit(c, 30).block();
            } catch (ApiException e) {
                // the asynchronous refund has not landed yet
            }
        }
        assertThat(second).isNotNull();
        assertThat(a.counts("key:42", second.minute())).containsExactly("2", "40");
    }

    @Test
    void aRejectionCountsNothing() {
        Caller c = caller(null, null, 1);
        a.admit(c, 5).block();
        assertThatThrownBy(() -> a.admit(c, 5).block()).isInstanceOf(ApiException.class);
        long minute = System.currentTimeMillis() / 60_000;
        assertThat(a.counts("team:team-x", minute).getFirst()).isIn("1", "null"); // "null" only across a minute edge
    }

    @Test
    void unreachableRedisAdmitsRatherThanFailingTheApi() {
        try (RedisRateLimiter down = new RedisRateLimiter(URL, prefix)) {
            down.close(); // connection gone: commands are rejected at once
            RateLimiter.Ticket t = down.admit(caller(1, null, null), 5).block();
            assertThat(t).isNotNull();
        }
    }
}
