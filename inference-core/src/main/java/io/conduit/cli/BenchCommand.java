package io.conduit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.conduit.core.bench.BatchingBench;
import io.conduit.core.bench.DecodeBench;
import io.conduit.core.bench.MachineLimits;
import io.conduit.core.bench.MatMulBench;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.synthetic.QuantMix;
import io.conduit.core.tensor.GgmlType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** {@code ./conduit bench}: kernel and engine throughput on synthetic models of real shapes, against the machine's roofs. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measures memory bandwidth and FMA peak, then prefill/decode throughput on random-weight "
                + "models of real shapes (written once under --dir), each as a fraction of its roofline; "
                + "--suite batching measures BatchingEngine end to end; --suite matmul the projection kernel alone.")
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--suite", defaultValue = "decode", description = "decode, batching, matmul or all (default: ${DEFAULT-VALUE}; all = decode + batching)")
    String suite;

    @Option(names = "--shape", split = ",", description = "model shapes: smol135m, l1b (default: smol135m,l1b for decode)")
    List<String> shapes;

    @Option(names = "--quant", split = ",", description = "weight types: q8_0, q4_0, f32, f16, bf16, q4_k, q6_k, "
            + "or the mix q4_k_m (decode suite only; q4_k, q6_k and q4_k_m need l1b) (default: q8_0,q4_0)")
    List<String> quants;

    @Option(names = "--batches", split = ",", description = "decode batch sizes / batching-suite stream counts (default: 1,4,16,64)")
    int[] batches;

    @Option(names = "--prefix", defaultValue = "1000", description = "cached prefix length of the prefix_ttft case (default: ${DEFAULT-VALUE})")
    int prefix;

    private boolean batchesGiven;

    @Option(names = "--tokens", defaultValue = "32", description = "decode steps per case, at most (default: ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--prompt", defaultValue = "128", description = "prefill prompt length (default: ${DEFAULT-VALUE})")
    int prompt;

    @Option(names = "--seconds", defaultValue = "8", description = "time budget per decode case (default: ${DEFAULT-VALUE})")
    double seconds;

    @Option(names = "--dir", description = "where synthetic models are cached (default: $CONDUIT_BENCH_DIR or target/bench-models)")
    Path dir;

    @Option(names = "--quantize", description = "quantize float models (--quant f32|f16|bf16) on load: q8_0 or q4_0")
    String quantize;

    @Option(names = "--cold-mb", defaultValue = "0", description = "matmul suite: rotate over copies of each matrix "
            + "filling this many MiB (past the L3, as a decode step reads its weights from DRAM); 0 = one warm matrix")
    long coldMb;

    @Option(names = "--context", defaultValue = "32", description = "decode suite: tokens each sequence holds before "
            + "the timed steps, so attention reads that many positions and more (default: ${DEFAULT-VALUE})")
    int context;

    @Option(names = "--kv-cache-dtype", defaultValue = "f32", description = "decode suite: KV cache storage, f32 or "
            + "q8_0 (int8 with a scale per 32 values; as the gateway's kv-cache-dtype) (default: ${DEFAULT-VALUE})")
    String kvCacheDtype;

    @Option(names = "--json", description = "one JSON object per case, one per line")
    boolean json;

    @Option(names = "--no-probe", description = "decode suite: skip the bandwidth pass after every decode step "
            + "(faster; no bandwidth_gbs_paired / roofline_fraction_paired)")
    boolean noProbe;

    @Override
    public Integer call() throws Exception {
        Path models = dir != null ? dir : benchDir();
        batchesGiven = batches != null;
        if (batches == null) batches = new int[]{1, 4, 16, 64};
        PrintStream out = System.out;
        ObjectMapper mapper = new ObjectMapper();
        Consumer<Map<String, Object>> sink = r -> {
            r.put("loadavg_1m", loadAverage()); // the cores are shared: say how busy the machine was
            emit(r, mapper, out);
        };
        if (!kvCacheDtype.equals("f32") && !kvCacheDtype.equals("q8_0")) {
            throw new IllegalArgumentException("--kv-cache-dtype must be f32 or q8_0, not '" + kvCacheDtype + "'");
        }
        if (context < 1) throw new IllegalArgumentException("--context must be at least 1");
        boolean quantizedKv = kvCacheDtype.equals("q8_0");
        boolean all = suite.equals("all");
        if (!all && !suite.equals("decode") && !suite.equals("batching") && !suite.equals("matmul")) {
            throw new IllegalArgumentException("unknown suite '" + suite + "' (known: decode, batching, matmul, all)");
        }
        // The type mix exists for the decode suite only: say so before anything runs.
        if (!suite.equals("decode") && quants != null) quants.forEach(BenchCommand::parseType);
        if (suite.equals("matmul")) {
            MachineLimits limits = MachineLimits.measure(512L << 20);
            for (String s : shapes != null ? shapes : List.of("smol135m")) {
                for (String q : quants != null ? quants : List.of("q8_0")) {
                    MatMulBench.run(ModelShape.named(s), parseType(q),
                            new MatMulBench.Options(batchesGiven ? batches : new int[]{1, 4, 16, 64, 128},
                                    Math.min(seconds, 3), coldMb << 20), limits, sink);
                }
            }
            return 0;
        }
        if (all || suite.equals("decode")) {
            if (!json) System.err.println("measuring memory bandwidth and FMA peak...");
            MachineLimits limits = MachineLimits.measure(512L << 20);
            if (!json) {
                System.err.printf(Locale.ROOT, "bandwidth %.1f GB/s, FMA peak %.1f GFLOP/s, %d threads, %d-bit vectors%n",
                        limits.bandwidthGbs(), limits.fmaPeakGflops(), limits.threads(), limits.vectorBits());
            }
            List<String> sh = shapes != null ? shapes : List.of("smol135m", "l1b");
            List<String> qs = quants != null ? quants : List.of("q8_0", "q4_0");
            List<Map<String, Object>> decodeRows = new ArrayList<>();
            for (String s : sh) {
                ModelShape shape = ModelShape.named(s);
                for (String q : qs) {
                    QuantMix mix = parseMix(q);
                    DecodeBench.run(models, shape, mix,
                            quantize == null ? null : io.conduit.core.quant.Quantizer.parseTarget(quantize), batches,
                            new DecodeBench.Options(prompt, tokens, context, seconds, !noProbe, quantizedKv), limits, r -> {
                                r.put("loadavg_1m", loadAverage());
                                decodeRows.add(r);
                                if (!json) System.err.println("  " + human(r));
                            });
                }
            }
            // Limits again after the cases; fractions use the best of both (a busy neighbour only lowers them).
            MachineLimits best = limits.best(MachineLimits.measure(512L << 20));
            for (Map<String, Object> r : decodeRows) {
                DecodeBench.applyLimits(r, best);
                emit(r, mapper, out);
            }
        }
        if (all || suite.equals("batching")) {
            BatchingBench.Options d = BatchingBench.Options.defaults();
            int[] streams = batchesGiven ? batches : d.streams();
            BatchingBenchRunner.run(models, shapes != null ? shapes : List.of("smol135m"),
                    quants != null ? quants : List.of("q8_0"),
                    new BatchingBench.Options(streams, d.promptTokens(), tokens, prefix, d.minTokS(), d.maxP95TtftMs(),
                            d.maxTrials(), d.maxUsers()), sink);
        }
        return 0;
    }

    /** A weight type, or the Q4_K_M mix ({@code q4_k_m}), for the decode suite. */
    static QuantMix parseMix(String q) {
        return q.equalsIgnoreCase(QuantMix.Q4_K_M.name()) ? QuantMix.Q4_K_M : QuantMix.uniform(parseType(q));
    }

    static GgmlType parseType(String q) {
        if (q.equalsIgnoreCase(QuantMix.Q4_K_M.name())) {
            throw new IllegalArgumentException(q + " mixes weight types per tensor; only --suite decode runs it");
        }
        GgmlType t;
        try {
            t = GgmlType.valueOf(q.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown weight type '" + q + "'");
        }
        if (!t.supported()) throw new IllegalArgumentException("weight type " + q + " is not supported");
        return t;
    }

    private void emit(Map<String, Object> r, ObjectMapper mapper, PrintStream out) {
        if (json) {
            try {
                out.println(mapper.writeValueAsString(r));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            out.flush();
        } else {
            out.println(human(r));
        }
    }

    static double loadAverage() {
        try {
            return Double.parseDouble(java.nio.file.Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (Exception e) {
            return -1;
        }
    }

    static Path benchDir() {
        String env = System.getenv("CONDUIT_BENCH_DIR");
        if (env != null && !env.isBlank()) return Path.of(env);
        String home = System.getProperty("conduit.home");
        return home != null ? Path.of(home, "target", "bench-models") : Path.of("target", "bench-models");
    }

    private static String human(Map<String, Object> r) {
        StringBuilder b = new StringBuilder();
        r.forEach((k, v) -> b.append(k).append('=').append(v).append(' '));
        return b.toString().trim();
    }
}
