package io.conduit.gateway.usage;

import io.conduit.gateway.ClockWindows;
import io.conduit.gateway.auth.Caller;
import io.conduit.gateway.auth.Role;
import io.conduit.gateway.web.ApiException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
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
        // Warm both connections up: admit() admits unchecked when Redis takes over 500 ms, and a cold first
        // command on a loaded machine must not be what decides the assertions below.
        a.counts("warm-up", 0);
        b.counts("warm-up", 0);
    }

    @AfterEach
    void close() {
        if (a != null) a.close();
        if (b != null) b.close();
    }

    private static final AtomicLong IDS = new AtomicLong(42);

    /** A caller with a key and team of its own, so that each (re)run of a scenario starts from empty windows. */
    static Caller caller(Integer keyRpm, Integer keyTpm, Integer teamRpm) {
        long id = IDS.getAndIncrement();
        return new Caller(id, "ck-test", "team-" + id, Role.MEMBER, null, null, keyRpm, keyTpm, teamRpm, null, 1.0);
    }

    @Test
    void replicasShareTheRequestsPerMinuteWindow() {
        // The windows are clock minutes: the four admissions must fall into the same one.
        Throwable fourth = ClockWindows.withinOneMinute(() -> {
            Caller c = caller(3, null, null);
            a.admit(c, 10).block();
            b.admit(c, 10).block();
            a.admit(c, 10).block();
            return catchThrowable(() -> b.admit(c, 10).block());
        });
        assertThat(fourth)
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status().value()).isEqualTo(429);
                    assertThat(e.code()).isEqualTo("rate_limit_exceeded");
                    assertThat(e.retryAfterSeconds()).isBetween(1L, 60L);
                });
    }

    record RefundRun(Caller caller, RateLimiter.Ticket first, Throwable overLimit, RateLimiter.Ticket second) {
    }

    @Test
    void tokensPerMinuteWithRefundOfUnusedTokens() {
        // The windows are clock minutes: the admissions and the refund must all concern the same one.
        RefundRun run = ClockWindows.withinOneMinute(() -> {
            Caller c = caller(null, 50, null);
            RateLimiter.Ticket t = a.admit(c, 30).block();
            Throwable overLimit = catchThrowable(() -> b.admit(c, 30).block());
            a.refund(t, 10); // used 10 of 30: 20 come back, 10 stay counted
            long deadline = System.currentTimeMillis() + 30_000; // generous: passing returns at once
            RateLimiter.Ticket second = null;
            while (second == null && System.currentTimeMillis() < deadline) {
                try {
                    second = b.admit(c, 30).block();
                } catch (ApiException e) {
                    // the asynchronous refund has not landed yet
                }
            }
            return new RefundRun(c, t, overLimit, second);
        });
        assertThat(run.overLimit()).isInstanceOf(ApiException.class);
        assertThat(run.second()).isNotNull();
        assertThat(run.second().minute()).isEqualTo(run.first().minute());
        assertThat(a.counts("key:" + run.caller().keyId(), run.second().minute())).containsExactly("2", "40");
    }

    record RejectionRun(Caller caller, RateLimiter.Ticket admitted, Throwable rejected) {
    }

    @Test
    void aRejectionCountsNothing() {
        // The windows are clock minutes: both admissions must fall into the same one.
        RejectionRun run = ClockWindows.withinOneMinute(() -> {
            Caller c = caller(null, null, 1);
            RateLimiter.Ticket t = a.admit(c, 5).block();
            return new RejectionRun(c, t, catchThrowable(() -> a.admit(c, 5).block()));
        });
        assertThat(run.rejected()).isInstanceOf(ApiException.class);
        assertThat(a.counts("team:" + run.caller().teamId(), run.admitted().minute()).getFirst()).isEqualTo("1");
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
