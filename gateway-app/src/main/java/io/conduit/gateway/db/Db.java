package io.conduit.gateway.db;

import io.conduit.gateway.GatewayProperties;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * JDBC from reactive code: every call runs on a bounded scheduler sized like the connection pool, never on
 * an event-loop thread.
 */
@Component
public class Db implements DisposableBean {
    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final Scheduler scheduler;

    public Db(JdbcTemplate jdbc, TransactionTemplate tx, GatewayProperties props) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.scheduler = Schedulers.newBoundedElastic(props.dbThreads(), 100_000, "conduit-db");
    }

    public JdbcTemplate jdbc() {
        return jdbc;
    }

    public <T> Mono<T> call(Callable<T> work) {
        return Mono.fromCallable(work).subscribeOn(scheduler);
    }

    public <T> Mono<T> inTx(Function<JdbcTemplate, T> work) {
        return Mono.fromCallable(() -> tx.execute(status -> work.apply(jdbc))).subscribeOn(scheduler);
    }

    /** Blocking variant for code already off the event loop (startup, scheduled jobs). */
    public <T> T inTxBlocking(Function<JdbcTemplate, T> work) {
        if (Schedulers.isInNonBlockingThread()) {
            throw new IllegalStateException("blocking JDBC on a non-blocking (event-loop) thread: use call()/inTx()");
        }
        return tx.execute(status -> work.apply(jdbc));
    }

    @Override
    public void destroy() {
        scheduler.dispose();
    }
}
