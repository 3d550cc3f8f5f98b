package io.conduit.gateway.usage;

import io.conduit.gateway.auth.Caller;
import io.conduit.gateway.web.ApiException;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

import java.util.List;

/**
 * The same fixed one-minute windows as {@link LocalRateLimiter}, kept in Redis so that every gateway replica
 * counts against the same limits. One Lua script checks all four limits and increments both windows
 * atomically. If Redis is unreachable the request is admitted (budgets, which are in PostgreSQL, still hold)
 * and the failure is logged: a rate limiter must not take the API down.
 */
public class RedisRateLimiter implements RateLimiter, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RedisRateLimiter.class);
    // KEYS: key window, team window. ARGV: key rpm, team rpm, key tpm, team tpm (-1 = none), tokens.
    // Returns 0 when admitted, else a code naming the limit hit (1 key rpm, 2 team rpm, 3 key tpm, 4 team tpm).
    private static final String ADMIT = """
            local kr = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
            local tr = tonumber(redis.call('HGET', KEYS[2], 'r') or '0')
            local kt = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
            local tt = tonumber(redis.call('HGET', KEYS[2], 't') or '0')
            local n = tonumber(ARGV[5])
            if tonumber(ARGV[1]) >= 0 and kr + 1 > tonumber(ARGV[1]) then return 1 end
            if tonumber(ARGV[2]) >= 0 and tr + 1 > tonumber(ARGV[2]) then return 2 end
            if tonumber(ARGV[3]) >= 0 and kt + n > tonumber(ARGV[3]) then return 3 end
            if tonumber(ARGV[4]) >= 0 and tt + n > tonumber(ARGV[4]) then return 4 end
            redis.call('HINCRBY', KEYS[1], 'r', 1)
            redis.call('HINCRBY', KEYS[2], 'r', 1)
            redis.call('HINCRBY', KEYS[1], 't', n)
            redis.call('HINCRBY', KEYS[2], 't', n)
            redis.call('EXPIRE', KEYS[1], 120)
            redis.call('EXPIRE', KEYS[2], 120)
            return 0
            """;
    private static final String REFUND = """
            for i = 1, 2 do
              if redis.call('EXISTS', KEYS[i]) == 1 then
                local t = tonumber(redis.call('HGET', KEYS[i], 't') or '0')
                redis.call('HSET', KEYS[i], 't', math.max(0, t - tonumber(ARGV[1])))
              end
            end
            return 0
            """;
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final RedisReactiveCommands<String, String> redis;
    private final String prefix;

    public RedisRateLimiter(String redisUrl, String prefix) {
        this.client = RedisClient.create(redisUrl);
        // Never queue commands while disconnected: an unreachable Redis must fail fast (and admit), not hang.
        client.setOptions(io.lettuce.core.ClientOptions.builder()
                .disconnectedBehavior(io.lettuce.core.ClientOptions.DisconnectedBehavior.REJECT_COMMANDS).build());
        this.connection = client.connect();
        this.redis = connection.reactive();
        this.prefix = prefix;
    }

    private String window(String scope, long minute) {
        return prefix + "rl:" + scope + ":" + minute;
    }

    private static String limit(Integer v) {
        return v == null ? "-1" : v.toString();
    }

    @Override
    public Mono<Ticket> admit(Caller caller, long tokens) {
        long nowMs = System.currentTimeMillis();
        long minute = nowMs / 60_000;
        long retryAfter = Math.max(1, (minute + 1) * 60 - nowMs / 1000);
        String keyScope = "key:" + caller.keyId();
        String teamScope = "team:" + caller.teamId();
        Ticket ticket = new Ticket(minute, tokens, keyScope, teamScope);
        if (caller.keyRpm() == null && caller.teamRpm() == null && caller.keyTpm() == null && caller.teamTpm() == null) {
            return Mono.just(ticket);
        }
        return redis.<Long>eval(ADMIT, ScriptOutputType.INTEGER,
                        new String[]{window(keyScope, minute), window(teamScope, minute)},
                        limit(caller.keyRpm()), limit(caller.teamRpm()), limit(caller.keyTpm()),
                        limit(caller.teamTpm()), Long.toString(tokens))
                .next()
                .timeout(java.time.Duration.ofMillis(500))
                .onErrorResume(e -> {
                    log.warn("Redis rate limiter unavailable; admitting without RPM/TPM check: {}", e.toString());
                    return Mono.just(0L);
                })
                .flatMap(code -> {
                    if (code == 0) return Mono.just(ticket);
                    String scope = code == 1 || code == 3 ? "API key" : "team";
                    String what = code <= 2 ? "requests per minute" : "tokens per minute";
                    Integer lim = switch (code.intValue()) {
                        case 1 -> caller.keyRpm();
                        case 2 -> caller.teamRpm();
                        case 3 -> caller.keyTpm();
                        default -> caller.teamTpm();
                    };
                    return Mono.error(ApiException.rateLimited("Rate limit reached for this " + scope + ": " + lim
                            + " " + what + ". Retry after " + retryAfter + " s.", "rate_limit_exceeded", retryAfter));
                });
    }

    @Override
    public void refund(Ticket t, long usedTokens) {
        long unused = t.tokens() - usedTokens;
        if (unused <= 0) return;
        redis.eval(REFUND, ScriptOutputType.INTEGER,
                        new String[]{window(t.keyScope(), t.minute()), window(t.teamScope(), t.minute())},
                        Long.toString(unused))
                .subscribe(x -> { }, e -> log.debug("rate limiter refund failed: {}", e.toString()));
    }

    /** For tests: the counts of a window. */
    List<String> counts(String scope, long minute) {
        return List.of(String.valueOf(redis.hget(window(scope, minute), "r").block()),
                String.valueOf(redis.hget(window(scope, minute), "t").block()));
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown();
    }
}
