package io.conduit.core.engine;

import io.conduit.core.kernels.Parallel;
import io.conduit.core.kv.BlockTable;
import io.conduit.core.kv.KvCache;
import io.conduit.core.kv.KvCacheManager;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.runner.ForwardBatch;
import io.conduit.core.runner.ModelRunner;
import io.conduit.core.sampling.SampledToken;
import io.conduit.core.scheduler.Scheduler;
import io.conduit.core.scheduler.Scheduler.Scheduled;
import io.conduit.core.scheduler.Sequence;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Continuous batching: one loop thread; each step runs a single forward over every running sequence's next
 * token plus prefill chunks of new ones, so requests join and leave between any two steps. KV lives in
 * paged blocks shared through the prefix cache. Other threads only enqueue submissions and set cancel flags.
 */
public final class BatchingEngine implements InferenceEngine {
    private static final int BLOCK_SIZE = 16;

    private final LoadedModel model;
    private final ModelConfig config;
    private final EngineOptions options;
    private final ModelRunner runner;
    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final ConcurrentLinkedQueue<Sequence> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicInteger waiting = new AtomicInteger();
    private final EngineMetrics metrics = new EngineMetrics();
    private final Thread loop;
    private volatile boolean running = true;
    private volatile EngineStats lastStats;
    /** Arrival order: breaks ties between tenants with equal fair-share standing. */
    private final java.util.concurrent.atomic.AtomicLong arrivals = new java.util.concurrent.atomic.AtomicLong();

    public BatchingEngine(LoadedModel model, EngineOptions options) {
        this(model, options, true);
    }

    public BatchingEngine(LoadedModel model, EngineOptions options, boolean prefixCaching) {
        this.model = model;
        this.config = model.config();
        this.options = options;
        int blocks = Math.max(KvCache.blocksForBudget(config, options.kvCacheBytes(), BLOCK_SIZE, options.quantizedKv()),
                (options.maxBatchTokens() + BLOCK_SIZE - 1) / BLOCK_SIZE + 1);
        KvCache cache = new KvCache(config, blocks, BLOCK_SIZE, options.quantizedKv());
        this.runner = new ModelRunner(config, model.weights(), cache);
        this.kv = new KvCacheManager(cache, prefixCaching);
        this.scheduler = new Scheduler(kv, options.maxBatchTokens(), options.maxRunning());
        this.lastStats = snapshot();
        this.loop = Thread.ofPlatform().name("conduit-engine-" + model.name()).daemon().start(this::run);
    }

    @Override
    public RequestHandle submit(EngineRequest request, GenerationListener listener) {
        Generator.validatePrompt(request.promptIds(), config);
        int maxTokens = Math.min(request.params().maxTokens(), config.contextLength() - request.promptIds().length);
        int blocksNeeded = (request.promptIds().length + maxTokens + BLOCK_SIZE - 1) / BLOCK_SIZE;
        if (blocksNeeded > kv.totalBlocks()) {
            throw new IllegalArgumentException("request needs " + blocksNeeded * BLOCK_SIZE + " tokens of KV cache but the engine holds "
                    + kv.totalBlocks() * BLOCK_SIZE + "; lower max_tokens or the prompt length");
        }
        if (!running) throw new EngineOverloadedException("engine is stopped");
        if (waiting.incrementAndGet() > options.maxWaiting()) {
            waiting.decrementAndGet();
            throw new EngineOverloadedException("engine queue is full (" + options.maxWaiting() + " requests waiting)");
        }
        Sequence s = Sequence.create(request, listener, model, new BlockTable(BLOCK_SIZE), arrivals.incrementAndGet());
        inbox.add(s);
        LockSupport.unpark(loop);
        return new RequestHandle() {
            @Override
            public String requestId() { return request.requestId(); }

            @Override
            public void cancel() {
                s.cancel();
                LockSupport.unpark(loop);
            }
        };
    }

    private void run() {
        while (running) {
            try {
                drainInbox();
                dropCancelledAndExpired();
                if (scheduler.idle()) {
                    lastStats = snapshot();
                    LockSupport.parkNanos(50_000_000L);
                    continue;
                }
                step();
            } catch (Throwable t) {
                failAll(t); // a bug must not leave requests hanging or blocks leaked
            }
            lastStats = snapshot();
        }
        failAll(new EngineOverloadedException("engine stopped"));
    }

    private void drainInbox() {
        Sequence s;
        while ((s = inbox.poll()) != null) scheduler.add(s);
    }

    private void dropCancelledAndExpired() {
        Instant now = Instant.now();
        for (Sequence s : scheduler.removeWaiting(q -> q.cancelled() || expired(q, now))) {
            waiting.decrementAndGet();
            if (s.cancelled()) complete(s, FinishReason.CANCELLED);
            else fail(s, new DeadlineExceededException("request " + s.request.requestId() + " waited past its deadline"));
        }
        for (Sequence s : new ArrayList<>(scheduler.running())) {
            if (s.cancelled()) {
                scheduler.finish(s);
                complete(s, FinishReason.CANCELLED);
            }
        }
    }

    private static boolean expired(Sequence s, Instant now) {
        return s.request.deadline() != null && s.firstScheduledNanos == 0 && now.isAfter(s.request.deadline());
    }

    /** One iteration: schedule, one forward over the whole batch, then sample and emit per sequence. */
    private void step() {
        long start = System.nanoTime();
        int waitingBefore = scheduler.waitingCount();
        List<Scheduled> batch = scheduler.schedule();
        waiting.addAndGet(scheduler.waitingCount() - waitingBefore);
        if (batch.isEmpty()) return;
        ForwardBatch fb = toForwardBatch(batch);
        float[] logits;
        try {
            logits = runner.forward(fb);
        } catch (RuntimeException e) {
            for (Scheduled sc : batch) {
                scheduler.finish(sc.sequence());
                fail(sc.sequence(), e);
            }
            return;
        }
        List<Sequence> ready = new ArrayList<>();
        for (Scheduled sc : batch) {
            Sequence s = sc.sequence();
            scheduler.computed(s, sc.tokens());
            if (s.pendingTokens() == 0) ready.add(s);
        }
        // Sampling a large vocabulary costs up to a millisecond per sequence: spread it over the cores.
        // Each sampler only reads its own logits row and history, so the order cannot change results.
        SampledToken[] sampled = new SampledToken[ready.size()];
        Parallel.forRange(ready.size(), 4, (from, to) -> {
            for (int i = from; i < to; i++) {
                Sequence s = ready.get(i);
                sampled[i] = s.sampler.sample(logits, i * config.vocabSize(), config.vocabSize(), s.history);
            }
        });
        for (int i = 0; i < ready.size(); i++) accept(ready.get(i), sampled[i]);
        metrics.step(System.nanoTime() - start, batch.size());
    }

    private ForwardBatch toForwardBatch(List<Scheduled> batch) {
        int total = 0;
        int wanted = 0;
        for (Scheduled sc : batch) {
            total += sc.tokens();
            if (sc.sequence().pendingTokens() == sc.tokens()) wanted++;
        }
        int[] tokens = new int[total], positions = new int[total], seq = new int[total], logitsFor = new int[wanted];
        BlockTable[] tables = new BlockTable[batch.size()];
        int t = 0;
        int w = 0;
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i).sequence();
            tables[i] = s.table;
            for (int k = 0; k < batch.get(i).tokens(); k++, t++) {
                int pos = s.computed + k;
                tokens[t] = s.history.tokenAt(pos);
                positions[t] = pos;
                seq[t] = i;
            }
            if (s.pendingTokens() == batch.get(i).tokens()) logitsFor[w++] = t - 1;
        }
        return new ForwardBatch(tokens, positions, seq, tables, logitsFor);
    }

    /** Records latency metrics, appends the token and finishes the sequence if it stops here. */
    private void accept(Sequence s, SampledToken token) {
        long now = System.nanoTime();
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = now;
            metrics.firstTokens++;
            metrics.timeToFirstTokenNanos += now - s.submittedNanos;
            metrics.promptTokens += s.request.promptIds().length;
            metrics.cachedPromptTokens += s.cachedPromptTokens;
        } else {
            metrics.interTokenIntervals++;
            metrics.interTokenNanos += now - s.lastTokenNanos;
        }
        s.lastTokenNanos = now;
        metrics.generatedTokens++;

        FinishReason finish = s.append(token);
        if (finish != null) finish(s, finish);
    }

    private void finish(Sequence s, FinishReason reason) {
        scheduler.finish(s);
        complete(s, reason);
    }

    private void complete(Sequence s, FinishReason reason) {
        long now = System.nanoTime();
        long scheduled = s.firstScheduledNanos == 0 ? now : s.firstScheduledNanos;
        long first = s.firstTokenNanos == 0 ? now : s.firstTokenNanos;
        GenerationResult result = new GenerationResult(s.request.promptIds().clone(), s.history.generatedIds(),
                s.text.toString(), reason, List.copyOf(s.logprobs), s.cachedPromptTokens,
                scheduled - s.submittedNanos, first - scheduled, now - first);
        try {
            s.listener.onComplete(result);
        } catch (RuntimeException ignored) {
            // A listener's failure is its own; the engine goes on serving the others.
        }
    }

    private void fail(Sequence s, Throwable error) {
        try {
            s.listener.onError(error);
        } catch (RuntimeException ignored) {
            // see complete()
        }
    }

    private void failAll(Throwable error) {
        for (Sequence s : new ArrayList<>(scheduler.running())) {
            scheduler.finish(s);
            fail(s, error);
        }
        for (Sequence s : scheduler.removeWaiting(q -> true)) {
            waiting.decrementAndGet();
            fail(s, error);
        }
        Sequence s;
        while ((s = inbox.poll()) != null) {
            waiting.decrementAndGet();
            fail(s, error);
        }
    }

    /** True when no sequence holds a KV block (tests check this after every scenario). */
    public boolean kvWhole() {
        return kv.whole();
    }

    public KvCacheManager kvCacheManager() {
        return kv;
    }

    public long preemptions() {
        return scheduler.preemptions();
    }

    private EngineStats snapshot() {
        EngineMetrics m = metrics;
        return new EngineStats(scheduler.running().size(), waiting.get(), kv.totalBlocks(), kv.usedBlocks(),
                kv.cachedFreeBlocks(), m.promptTokens, m.cachedPromptTokens, m.generatedTokens, m.steps,
                m.mean(m.stepNanos, m.steps, 1e6), m.mean(m.batchSequences, m.steps, 1),
                m.mean(m.timeToFirstTokenNanos, m.firstTokens, 1e6), m.mean(m.interTokenNanos, m.interTokenIntervals, 1e6));
    }

    @Override
    public EngineStats stats() {
        return lastStats;
    }

    @Override
    public LoadedModel model() {
        return model;
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(loop);
        try {
            loop.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
