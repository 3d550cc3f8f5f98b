package io.conduit.core.bench;

import io.conduit.core.kv.BlockTable;
import io.conduit.core.kv.KvCache;
import io.conduit.core.model.LayerWeights;
import io.conduit.core.model.LoadedModel;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.model.ModelLoader;
import io.conduit.core.runner.ForwardBatch;
import io.conduit.core.runner.ModelRunner;
import io.conduit.core.synthetic.ModelShape;
import io.conduit.core.synthetic.QuantMix;
import io.conduit.core.synthetic.SyntheticModelWriter;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.WeightMatrix;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

/**
 * Prefill and decode throughput of the forward pass ({@link ModelRunner}, no scheduler) on a synthetic
 * random-weight model, each against its roofline:
 * <ul>
 *   <li>decode at batch B: one step reads every weight once plus each sequence's KV, and does B tokens'
 *   FLOPs, so the best possible step time is max(bytes / bandwidth, FLOPs / FMA peak); the limit in tokens/s
 *   is B over that;</li>
 *   <li>prefill: compute-bound, limit = FMA peak / FLOPs per token.</li>
 * </ul>
 * {@code roofline_fraction} = {@code decode_tok_s} / {@code limit_tok_s}.
 *
 * <p>The roofs are measured before and after all the cases, but on a shared machine the bandwidth a neighbour
 * leaves free changes from minute to minute. So by default ({@link Options#probe()}) a {@link BandwidthProbe} pass
 * follows every decode step, outside the step's timing, and each case also reports its steps against the
 * bandwidth measured right beside them: {@code bandwidth_gbs_paired} (median of the case's passes) and, for
 * memory-bound cases, {@code roofline_fraction_paired} (median over steps of the step's achieved GB/s over the
 * GB/s of the pass that followed it). {@code step_ms} and {@code probe_gbs} list the pairs.
 */
public final class DecodeBench {
    /**
     * Settings of one run. {@code probe}: a bandwidth pass after every decode step (the paired fields). A pass over
     * {@link BandwidthProbe#DEFAULT_BYTES} takes ~5 ms at 50 GB/s, as long as a smol135m step: without probes a case
     * takes less wall time, and reports the roof fields only.
     */
    public record Options(int promptTokens, int decodeSteps, int contextTokens, double secondsPerCase, boolean probe,
                          boolean quantizedKv) {
        /** With probes. */
        public Options(int promptTokens, int decodeSteps, int contextTokens, double secondsPerCase) {
            this(promptTokens, decodeSteps, contextTokens, secondsPerCase, true);
        }

        /** With a float32 KV cache. */
        public Options(int promptTokens, int decodeSteps, int contextTokens, double secondsPerCase, boolean probe) {
            this(promptTokens, decodeSteps, contextTokens, secondsPerCase, probe, false);
        }

        public static Options defaults() {
            return new Options(128, 32, 32, 8.0, true);
        }
    }

    private DecodeBench() {
    }

    /** Writes the synthetic model once per (shape, type, seed) under {@code dir}; reruns reuse the file. */
    public static Path cachedModel(Path dir, ModelShape shape, GgmlType type) {
        return cachedModel(dir, shape, QuantMix.uniform(type));
    }

    /**
     * As above for a mix of types: {@code synthetic-<shape>-<mix>.gguf} ({@code synthetic-l1b-q4_k_m.gguf}).
     * @throws IllegalArgumentException when the shape's widths do not fit the types (nothing is written)
     */
    public static Path cachedModel(Path dir, ModelShape shape, QuantMix mix) {
        Path file = dir.resolve("synthetic-" + shape.name() + "-" + mix.name() + ".gguf");
        if (Files.exists(file)) return file;
        SyntheticModelWriter writer = new SyntheticModelWriter(shape, mix, 42); // checks the shape first
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            writer.write(tmp);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** Bytes of weight matrices one forward step reads (all layers plus the output projection). */
    public static long weightBytes(LoadedModel m) {
        long sum = m.weights().output().byteSize();
        for (LayerWeights l : m.weights().layers()) {
            for (WeightMatrix w : List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down())) sum += w.byteSize();
        }
        return sum;
    }

    /** Multiply-adds of the matrices per token, as FLOPs (2 per multiply-add). */
    public static long matrixFlops(LoadedModel m) {
        long sum = (long) m.weights().output().rows() * m.weights().output().cols();
        for (LayerWeights l : m.weights().layers()) {
            for (WeightMatrix w : List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down())) {
                sum += (long) w.rows() * w.cols();
            }
        }
        return 2 * sum;
    }

    /** FLOPs per token of the output projection alone (2 per multiply-add). */
    static long outputFlops(LoadedModel m) {
        return 2L * m.weights().output().rows() * m.weights().output().cols();
    }

    /**
     * FLOPs per prompt token of a prefill of {@code promptTokens}: every layer for every token, but the output projection
     * only once, for the last token, whose logits are all a prefill asks for (l1b: 2.0 GFLOP per token, not the 2.5 of a
     * decode step, whose every token needs its logits).
     */
    static long prefillFlopsPerToken(LoadedModel m, int promptTokens) {
        int ctx = (promptTokens + 1) / 2; // mean context of the prompt's positions
        return matrixFlops(m) - outputFlops(m) + outputFlops(m) / promptTokens + attentionFlops(m.config(), ctx);
    }

    /** Attention FLOPs of one token at context length {@code ctx} (scores and weighted sum). */
    static long attentionFlops(ModelConfig c, int ctx) {
        return 4L * c.layers() * c.qDim() * ctx;
    }

    /**
     * KV bytes one token's attention reads at context length {@code ctx}: float32 keys and values, or int8 with a
     * float scale per {@link KvCache#scaleGroup} values.
     */
    static long kvBytes(ModelConfig c, int ctx, boolean quantized) {
        long values = 2L * c.layers() * c.kvDim() * ctx;
        return quantized ? values + values / KvCache.scaleGroup(c) * Float.BYTES : values * Float.BYTES;
    }

    /**
     * Runs prefill once and decode at each batch size, emitting one result per batch size. Each result holds the
     * contract fields ({@code shape, quant, batch, prefill_tok_s, decode_tok_s, bandwidth_gbs, roofline_fraction})
     * and the inputs of the roofline.
     */
    public static void run(LoadedModel m, String shapeName, GgmlType quant, int[] batches, Options o,
                           MachineLimits limits, Consumer<Map<String, Object>> sink) {
        run(m, shapeName, quant.name().toLowerCase(Locale.ROOT), batches, o, limits, sink);
    }

    /** As above, {@code quant} being the name reported (a type, or a mix such as {@code q4_k_m}). */
    public static void run(LoadedModel m, String shapeName, String quant, int[] batches, Options o,
                           MachineLimits limits, Consumer<Map<String, Object>> sink) {
        if (!o.probe()) {
            run(m, shapeName, quant, batches, o, limits, null, sink);
            return;
        }
        try (BandwidthProbe probe = new BandwidthProbe(BandwidthProbe.DEFAULT_BYTES)) {
            run(m, shapeName, quant, batches, o, limits, probe::passGbs, sink);
        }
    }

    /**
     * The decode suite with {@code probe} (GB/s of one bandwidth pass; null for none) called after every decode
     * step. Package-private so that tests can pass a fake probe.
     */
    static void run(LoadedModel m, String shapeName, String quant, int[] batches, Options o,
                    MachineLimits limits, DoubleSupplier probe, Consumer<Map<String, Object>> sink) {
        ModelConfig c = m.config();
        int maxBatch = 1;
        for (int b : batches) maxBatch = Math.max(maxBatch, b);
        int blockSize = 16;
        int perSeq = Math.max(o.promptTokens(), o.contextTokens() + o.decodeSteps() * 2 + 8) + 1;
        int blocks = maxBatch * ((perSeq + blockSize - 1) / blockSize) + 2 * ((o.promptTokens() + blockSize) / blockSize);
        KvCache kv = new KvCache(c, blocks, blockSize, o.quantizedKv());
        ModelRunner runner = new ModelRunner(c, m.weights(), kv);
        SplittableRandom rnd = new SplittableRandom(7);

        // Prefill: one prompt of promptTokens in one forward; two warm-up runs (the second still ran ~10% slower
        // than later ones while C2 finished compiling the wide kernels), then the best of three.
        double prefillTokS = 0;
        for (int rep = 0; rep < 5; rep++) {
            BlockTable t = kv.newTable();
            t.ensureCapacity(o.promptTokens(), kv.pool());
            int[] prompt = randomTokens(rnd, c, o.promptTokens());
            long t0 = System.nanoTime();
            runner.forward(ForwardBatch.single(prompt, 0, t));
            long dt = System.nanoTime() - t0;
            if (rep >= 2) prefillTokS = Math.max(prefillTokS, o.promptTokens() / (dt / 1e9));
            t.release(kv.pool());
        }
        long weightBytes = weightBytes(m);
        long matrixFlops = matrixFlops(m);

        for (int batch : batches) {
            BlockTable[] tables = new BlockTable[batch];
            for (int s = 0; s < batch; s++) {
                tables[s] = kv.newTable();
                if (!tables[s].ensureCapacity(perSeq, kv.pool())) throw new IllegalStateException("KV cache too small");
            }
            // Each sequence starts from a context of contextTokens, prefilled together in forwards of at most ~512
            // tokens (a long context at batch 64 in one forward would need gigabytes of activations).
            int ctx = o.contextTokens();
            int chunk = Math.max(1, 512 / batch);
            for (int p0 = 0; p0 < ctx; p0 += chunk) {
                int len = Math.min(chunk, ctx - p0);
                int[] tokens = new int[batch * len];
                int[] positions = new int[batch * len];
                int[] seq = new int[batch * len];
                for (int s = 0; s < batch; s++) {
                    for (int p = 0; p < len; p++) {
                        tokens[s * len + p] = 3 + rnd.nextInt(c.vocabSize() - 3);
                        positions[s * len + p] = p0 + p;
                        seq[s * len + p] = s;
                    }
                }
                runner.forward(new ForwardBatch(tokens, positions, seq, tables, new int[]{len - 1}));
            }
            // Start the timed steps with an empty young generation: the warm-up's garbage (vectors boxed before C2
            // compiled the kernels, the lane copies) otherwise made 85-290 ms young collections land in timed steps.
            System.gc();
            int[] step = new int[batch];
            int[] stepSeq = new int[batch];
            int[] all = new int[batch];
            for (int s = 0; s < batch; s++) {
                stepSeq[s] = s;
                all[s] = s;
            }
            int warm = 2;
            int steps = 0;
            long start = 0;
            long probeNanos = 0; // time of the probe passes that followed timed steps
            long budget = (long) (o.secondsPerCase() * 1e9);
            long[] stepNanos = new long[o.decodeSteps()];
            double[] probeGbs = new double[o.decodeSteps()];
            for (int i = 0; i < warm + o.decodeSteps(); i++) {
                if (i == warm) start = System.nanoTime();
                int[] stepTokens = randomTokens(rnd, c, batch);
                Arrays.fill(step, ctx + i);
                long s0 = System.nanoTime();
                runner.forward(new ForwardBatch(stepTokens, step.clone(), stepSeq, tables, all));
                long s1 = System.nanoTime();
                // A pass after every step, warm-up steps included, so every timed step follows a pass alike; the
                // passes after warm-up steps fall before `start` and count nowhere.
                double gbs = 0;
                if (probe != null) {
                    gbs = probe.getAsDouble();
                    if (i >= warm) probeNanos += System.nanoTime() - s1;
                }
                if (i >= warm) {
                    probeGbs[steps] = gbs;
                    stepNanos[steps++] = s1 - s0;
                    // the budget counts decode time only, so probes do not change how many steps a case runs
                    if (System.nanoTime() - start - probeNanos > budget && steps >= 3) break;
                }
            }
            // The decode loop's wall time without the probe passes: the steps plus the loop's own work between
            // them (drawing tokens, building batches), as before probes existed.
            double secs = (System.nanoTime() - start - probeNanos) / 1e9;
            double decodeTokS = batch * steps / secs;
            // The median step as well: on a shared machine a neighbour's burst lands in the mean of a few dozen
            // steps, while the median step is what the code does when it has the cores.
            double[] stepSecs = new double[steps];
            for (int i = 0; i < steps; i++) stepSecs[i] = stepNanos[i] / 1e9;
            double medianStepSecs = median(stepSecs);
            for (BlockTable t : tables) t.release(kv.pool());

            int meanCtx = ctx + warm + steps / 2;
            long stepBytes = weightBytes + (long) batch * kvBytes(c, meanCtx, o.quantizedKv());
            long flopsPerToken = matrixFlops + attentionFlops(c, meanCtx);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("suite", "decode");
            r.put("shape", shapeName);
            r.put("quant", quant);
            r.put("batch", batch);
            r.put("threads", limits.threads());
            r.put("context_tokens", ctx);
            r.put("kv_cache_dtype", o.quantizedKv() ? "q8_0" : "f32");
            r.put("prefill_tokens", o.promptTokens());
            r.put("prefill_tok_s", round(prefillTokS));
            r.put("prefill_flops_per_token", prefillFlopsPerToken(m, o.promptTokens()));
            r.put("decode_tok_s", round(decodeTokS));
            r.put("decode_tok_s_median_step", round(batch / medianStepSecs));
            r.put("decode_steps", steps);
            r.put("bytes_per_step", stepBytes);
            r.put("flops_per_token", flopsPerToken);
            r.put("achieved_gbs", round(stepBytes * steps / secs / 1e9));
            r.put("achieved_gflops", round(flopsPerToken * (double) batch * steps / secs / 1e9));
            List<Double> stepMs = new ArrayList<>(steps);
            for (int i = 0; i < steps; i++) stepMs.add(round(stepNanos[i] / 1e6));
            r.put("step_ms", stepMs);
            if (probe != null) {
                List<Double> passes = new ArrayList<>(steps);
                for (int i = 0; i < steps; i++) passes.add(round(probeGbs[i]));
                r.put("probe_gbs", passes);
                r.put("bandwidth_gbs_paired", round(median(Arrays.copyOf(probeGbs, steps))));
            }
            applyLimits(r, limits);
            for (String k : List.of("step_ms", "probe_gbs")) { // the long lists last, after the figures
                Object v = r.remove(k);
                if (v != null) r.put(k, v);
            }
            sink.accept(r);
        }
    }

    /**
     * (Re)computes the roofline fields of a result from its measured rates and the given limits: the bench
     * measures the limits before and after the cases and applies the best of both, since a neighbour on a
     * shared machine can only make a limit look lower than it is.
     */
    public static void applyLimits(Map<String, Object> r, MachineLimits limits) {
        double batch = ((Number) r.get("batch")).doubleValue();
        double stepBytes = ((Number) r.get("bytes_per_step")).doubleValue();
        double flopsPerToken = ((Number) r.get("flops_per_token")).doubleValue();
        double decodeTokS = ((Number) r.get("decode_tok_s")).doubleValue();
        double prefillTokS = ((Number) r.get("prefill_tok_s")).doubleValue();
        double prefillFlops = ((Number) r.get("prefill_flops_per_token")).doubleValue();
        double memSecs = stepBytes / (limits.bandwidthGbs() * 1e9);
        double computeSecs = batch * flopsPerToken / (limits.fmaPeakGflops() * 1e9);
        double limit = batch / Math.max(memSecs, computeSecs);
        r.put("bandwidth_gbs", round(limits.bandwidthGbs()));
        r.put("fma_peak_gflops", round(limits.fmaPeakGflops()));
        r.put("bound", memSecs >= computeSecs ? "memory" : "compute");
        r.put("limit_tok_s", round(limit));
        r.put("roofline_fraction", round4(decodeTokS / limit));
        if (r.get("decode_tok_s_median_step") instanceof Number median) {
            r.put("roofline_fraction_median_step", round4(median.doubleValue() / limit));
        }
        r.put("prefill_roofline_fraction", round4(prefillTokS / (limits.fmaPeakGflops() * 1e9 / prefillFlops)));
        // The paired fraction depends on the step/probe pairs only, not on these limits; they only decide whether
        // the case is memory-bound, where a fraction of the bandwidth means something.
        Double paired = memSecs >= computeSecs ? pairedRooflineFraction(r) : null;
        if (paired != null) r.put("roofline_fraction_paired", round4(paired));
        else r.remove("roofline_fraction_paired");
    }

    /**
     * Median over the steps of a result of (bytes_per_step / the step's seconds) / (GB/s of the probe pass after it),
     * from its {@code step_ms} and {@code probe_gbs}; null without probes.
     */
    static Double pairedRooflineFraction(Map<String, Object> r) {
        if (!(r.get("step_ms") instanceof List<?> ms) || !(r.get("probe_gbs") instanceof List<?> gbs)
                || ms.isEmpty() || ms.size() != gbs.size()) {
            return null;
        }
        double stepBytes = ((Number) r.get("bytes_per_step")).doubleValue();
        double[] f = new double[ms.size()];
        for (int i = 0; i < f.length; i++) {
            double stepGbs = stepBytes / (((Number) ms.get(i)).doubleValue() * 1e6); // bytes per ns = GB/s
            f[i] = stepGbs / ((Number) gbs.get(i)).doubleValue();
        }
        return median(f);
    }

    /** Median of {@code v} (mean of the middle two for an even count); sorts a copy. */
    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        if (n == 0) return Double.NaN;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static int[] randomTokens(SplittableRandom rnd, ModelConfig c, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + rnd.nextInt(c.vocabSize() - 3);
        return t;
    }

    /**
     * Six significant digits: readable JSON, and small values (a tiny test model's limits) keep their
     * precision, so fields derived from one another stay consistent.
     */
    static double round(double v) {
        if (v == 0 || !Double.isFinite(v)) return v;
        return new java.math.BigDecimal(v).round(new java.math.MathContext(6)).doubleValue();
    }

    static double round4(double v) {
        return round(v);
    }

    /** Convenience: cache, load and run one (shape, type). */
    public static void run(Path dir, ModelShape shape, GgmlType quant, int[] batches, Options o,
                           MachineLimits limits, Consumer<Map<String, Object>> sink) {
        run(dir, shape, quant, null, batches, o, limits, sink);
    }

    /** As above; {@code quantizeOnLoad} (Q8_0/Q4_0, or null) converts a float model while loading it. */
    public static void run(Path dir, ModelShape shape, GgmlType quant, GgmlType quantizeOnLoad, int[] batches, Options o,
                           MachineLimits limits, Consumer<Map<String, Object>> sink) {
        run(dir, shape, QuantMix.uniform(quant), quantizeOnLoad, batches, o, limits, sink);
    }

    /**
     * As above for a mix of types ({@link QuantMix#Q4_K_M}); {@code quant} is the mix's name, or with
     * {@code quantizeOnLoad} the type the layers were converted to (and {@code stored_as} the file's).
     */
    public static void run(Path dir, ModelShape shape, QuantMix mix, GgmlType quantizeOnLoad, int[] batches, Options o,
                           MachineLimits limits, Consumer<Map<String, Object>> sink) {
        try (LoadedModel m = ModelLoader.load(cachedModel(dir, shape, mix), new ModelLoader.LoadOptions(quantizeOnLoad))) {
            String quant = quantizeOnLoad == null ? mix.name()
                    : m.weights().layers()[0].wq().type().name().toLowerCase(Locale.ROOT);
            run(m, shape.name(), quant, batches, o, limits, r -> {
                if (quantizeOnLoad != null) r.put("stored_as", mix.name());
                sink.accept(r);
            });
        }
    }
}
