package io.conduit.core.bench;

import io.conduit.core.engine.BatchingEngine;
import io.conduit.core.engine.EngineOptions;
import io.conduit.core.engine.EngineRequest;
import io.conduit.core.engine.GenerationListener;
import io.conduit.core.engine.GenerationResult;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.sampling.SampledToken;
import io.conduit.core.sampling.SamplingParams;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * End-to-end serving numbers through {@link BatchingEngine} (scheduler, paged KV, sampling included):
 * aggregate throughput at N concurrent streams, time to first token with and without a cached prefix, and
 * how many concurrent users one box serves within a latency budget.
 */
public final class BatchingBench {
    /** Settings; defaults are what {@code ./conduit bench --suite batching} runs. */
    public record Options(int[] streams, int promptTokens, int genTokens, int prefixTokens, double minTokS,
                          double maxP95TtftMs, int maxTrials, int maxUsers) {
        public static Options defaults() {
            return new Options(new int[]{1, 4, 16, 64}, 32, 32, 1000, 10.0, 1000.0, 7, 256);
        }
    }

    private BatchingBench() {
    }

    /** One finished stream: when its first token came and how fast it decoded after that. */
    record Stream(long ttftNanos, long totalNanos, int tokens) {
        double decodeTokS() {
            return tokens <= 1 ? 0 : (tokens - 1) / ((totalNanos - ttftNanos) / 1e9);
        }
    }

    /** Runs {@code n} streams submitted together; returns them in submission order. */
    static Stream[] runStreams(BatchingEngine engine, int n, int[][] prompts, int genTokens, String tag) {
        Stream[] out = new Stream[n];
        CountDownLatch done = new CountDownLatch(n);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(genTokens).ignoreEos(true).build();
        for (int i = 0; i < n; i++) {
            final int idx = i;
            long submitted = System.nanoTime();
            engine.submit(EngineRequest.of(tag + "-" + i, prompts[i], params), new GenerationListener() {
                long first = -1;

                @Override
                public void onToken(SampledToken token, String textDelta) {
                    if (first < 0) first = System.nanoTime();
                }

                @Override
                public void onComplete(GenerationResult result) {
                    long end = System.nanoTime();
                    out[idx] = new Stream((first < 0 ? end : first) - submitted, end - submitted, result.tokenIds().length);
                    done.countDown();
                }

                @Override
                public void onError(Throwable error) {
                    failure.compareAndSet(null, error);
                    done.countDown();
                }
            });
        }
        try {
            if (!done.await(30, TimeUnit.MINUTES)) throw new IllegalStateException("streams did not finish");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (failure.get() != null) throw new IllegalStateException("a stream failed: " + failure.get(), failure.get());
        return out;
    }

    static int[][] prompts(SplittableRandom rnd, int n, int len, int vocab) {
        int[][] p = new int[n][len];
        for (int[] row : p) for (int j = 0; j < len; j++) row[j] = 3 + rnd.nextInt(vocab - 3);
        return p;
    }

    static EngineOptions engineOptions(LoadedModel m, long kvBytes) {
        return new EngineOptions(1024, kvBytes, 512, 256);
    }

    public static void run(LoadedModel m, String shape, String quant, Options o, Consumer<Map<String, Object>> sink) {
        SplittableRandom rnd = new SplittableRandom(11);
        int vocab = m.config().vocabSize();
        long kvBytes = 1L << 30;
        try (BatchingEngine engine = new BatchingEngine(m, engineOptions(m, kvBytes), false)) {
            runStreams(engine, 2, prompts(rnd, 2, o.promptTokens(), vocab), 8, "warmup");
            for (int n : o.streams()) {
                long t0 = System.nanoTime();
                Stream[] s = runStreams(engine, n, prompts(rnd, n, o.promptTokens(), vocab), o.genTokens(), "streams" + n);
                double secs = (System.nanoTime() - t0) / 1e9;
                long tokens = Arrays.stream(s).mapToLong(Stream::tokens).sum();
                Map<String, Object> r = base("streams", shape, quant);
                r.put("streams", n);
                r.put("aggregate_tok_s", DecodeBench.round(tokens / secs));
                r.put("per_stream_tok_s_min", DecodeBench.round(Arrays.stream(s).mapToDouble(Stream::decodeTokS).min().orElse(0)));
                r.put("ttft_ms_p95", DecodeBench.round(p95(s) / 1e6));
                r.put("prompt_tokens", o.promptTokens());
                r.put("gen_tokens", o.genTokens());
                sink.accept(r);
            }
        }

        // Time to first token of a request whose long prefix was served just before, cache on vs off.
        int[] prefix = prompts(rnd, 1, o.prefixTokens(), vocab)[0];
        for (boolean cache : new boolean[]{false, true}) {
            try (BatchingEngine engine = new BatchingEngine(m, engineOptions(m, kvBytes), cache)) {
                runStreams(engine, 1, new int[][]{withSuffix(prefix, rnd, vocab)}, 1, "prime");
                double best = Double.MAX_VALUE;
                for (int rep = 0; rep < 3; rep++) {
                    Stream s = runStreams(engine, 1, new int[][]{withSuffix(prefix, rnd, vocab)}, 1, "ttft" + rep)[0];
                    best = Math.min(best, s.ttftNanos() / 1e6);
                }
                Map<String, Object> r = base("prefix_ttft", shape, quant);
                r.put("cache", cache ? "on" : "off");
                r.put("prefix_tokens", o.prefixTokens());
                r.put("ttft_ms", DecodeBench.round(best));
                sink.accept(r);
            }
        }

        // Users per box: the most concurrent streams with every stream >= minTokS and p95 TTFT < budget.
        try (BatchingEngine engine = new BatchingEngine(m, engineOptions(m, kvBytes), true)) {
            int lo = 0;
            int hi = -1;
            int trials = 0;
            int n = 4;
            Map<String, Object> lastPass = null;
            while (trials < o.maxTrials()) {
                trials++;
                Stream[] s = runStreams(engine, n, prompts(rnd, n, o.promptTokens(), vocab), o.genTokens(), "users" + n);
                double minTokS = Arrays.stream(s).mapToDouble(Stream::decodeTokS).min().orElse(0);
                double p95 = p95(s) / 1e6;
                boolean ok = minTokS >= o.minTokS() && p95 < o.maxP95TtftMs();
                if (ok) {
                    lo = n;
                    lastPass = new LinkedHashMap<>();
                    lastPass.put("per_stream_tok_s_min", DecodeBench.round(minTokS));
                    lastPass.put("ttft_ms_p95", DecodeBench.round(p95));
                } else {
                    hi = n;
                }
                if (hi < 0) {
                    if (n >= o.maxUsers()) break;
                    n = Math.min(o.maxUsers(), n * 2);
                } else {
                    if (hi - lo <= Math.max(1, lo / 8)) break; // within ~12%: good enough for a capacity number
                    n = (lo + hi) / 2;
                }
            }
            Map<String, Object> r = base("users_per_box", shape, quant);
            r.put("users", lo);
            r.put("first_failing", hi);
            r.put("trials", trials);
            r.put("min_tok_s", o.minTokS());
            r.put("max_p95_ttft_ms", o.maxP95TtftMs());
            if (lastPass != null) r.putAll(lastPass);
            sink.accept(r);
        }
    }

    private static int[] withSuffix(int[] prefix, SplittableRandom rnd, int vocab) {
        int[] p = Arrays.copyOf(prefix, prefix.length + 8);
        for (int i = prefix.length; i < p.length; i++) p[i] = 3 + rnd.nextInt(vocab - 3);
        return p;
    }

    private static double p95(Stream[] s) {
        long[] t = Arrays.stream(s).mapToLong(Stream::ttftNanos).sorted().toArray();
        return t[Math.min(t.length - 1, (int) Math.ceil(0.95 * t.length) - 1)];
    }

    private static Map<String, Object> base(String kind, String shape, String quant) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("suite", "batching");
        r.put("case", kind);
        r.put("shape", shape);
        r.put("quant", quant);
        return r;
    }
}
