package io.conduit.core.kernels;

import io.conduit.core.tensor.LaneRows;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * The projection over {@link LaneRows} copies (Q8_0, Q4_0, Q4_K, Q6_K): one vector lane per weight row. Every output is one
 * recipe, whatever the batch: {@code acc = 0; for k = 0, 1, ..., K-1: acc = fma(w[r][k], x[t][k], acc)}, with
 * {@code w} the codec's dequantized float. Lanes hold rows, so no lane ever needs summing with another.
 *
 * <ul>
 *   <li>Batch 1-3: one super-group ({@code 8L} rows, 128 on AVX-512) per call streams its quants once per token
 *   into eight chains, each weight converted and scaled in registers ({@link #int8}, {@link #nibbles}); where a
 *   matrix ends inside a super-group, its first half ({@link #TW} rows) in four chains ({@link #int8Half}, {@link
 *   #nibblesHalf}).</li>
 *   <li>Batched: a K slice of half a super-group ({@link #TW} rows; from batch 32 one lane-group pair, {@link
 *   #tileRows}) is decoded once into floats ({@link #decode},
 *   k-major: the rows of element k side by side), then register tiles of 2 lane groups x 12 tokens (x 8 or x 4 for the
 *   rest of a batch, {@link #tokenGroup}; x 5 and x 4 on AVX2, {@link #SIXTEEN_REGISTERS}) run over it with each activation broadcast from a token-interleaved copy
 *   ({@link #interleaved}): 24 FMAs per 2 vector loads and 12 broadcasts, no reductions (a
 *   microbenchmark ran this loop at ~0.94 of the FMA peak from L2, against ~0.65 for the dot-product tiles it
 *   replaces, whose every output ended in a 16-lane reduction). Int8 and Q4_K quants below batch 12 on a 32-register
 *   machine skip the decode pass: their register tiles convert each weight in place ({@link #fusesDecode}).</li>
 * </ul>
 * Both paths form the same products in the same order, so a sequence's logits are bit-identical alone or batched.
 * Q4_0 copies made for int8 activations ({@link LaneRows#quantizedActivations()}, the default) take their own recipe,
 * at every batch too: {@link NibbleInt16MatMul}.
 */
final class LaneMatMul {
    private static final VectorSpecies<Float> F = Dequant.F;
    private static final int L = Dequant.L;
    /** {@code nibble - 8} for nibbles 0..15 (as int bits, for a lane lookup); only with 16 lanes. */
    private static final IntVector NIBBLE_VALUES = L == 16 ? FloatVector.fromArray(F,
            new float[]{-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7}, 0).reinterpretAsInts() : null;
    /** Nibbles 0..15 as floats (as int bits, for a lane lookup): Q4_K's values before scale and min. */
    private static final IntVector NIBBLES_0_15 = L == 16 ? FloatVector.fromArray(F,
            new float[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 0).reinterpretAsInts() : null;
    private static final ThreadLocal<float[]> CHAINS = ThreadLocal.withInitial(() -> new float[LaneRows.GROUPS * L]);
    /**
     * Floats of a tile's decoded K slice in the batched path (128 KiB, an eighth of a Zen 4/5 L2, beside the activation
     * slices of a 128-token prefill): 512 elements of 64 rows.
     */
    static final int SCRATCH_FLOATS = 1 << 15;
    /**
     * Rows per super-group step ({@link LaneRows#width()} of every copy {@link #runs} accepts), as a constant. The batch
     * 1-3 kernels index each load as their loop counter times a constant plus an invariant, the form C2 needs to hoist
     * the Vector API's bounds checks out of the loop. With the stride read from the copy the checks stayed in the loop
     * whenever a batched call had run first (any prefill), and batch-1 Q8_0 streamed 8 instead of 12-13 GB/s per thread
     * on an Intel Xeon (docs/BENCHMARKS.md, session 8).
     */
    private static final int W = LaneRows.GROUPS * L;
    /** Rows per batched tile: half a super-group. */
    static final int TW = LaneRows.GROUPS / 2 * L;
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[SCRATCH_FLOATS]);
    private static final ThreadLocal<float[]> ACC = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> ONE = ThreadLocal.withInitial(() -> new float[LaneRows.GROUPS * L]);

    private LaneMatMul() {
    }

    /** Whether this machine runs the lane kernels (they assume the copy's lane count is the vector length). */
    static boolean runs(LaneRows p) {
        return p.lanes() == L && (L == 8 || L == 16) && p.groups() == LaneRows.GROUPS;
    }

    // Nibbles to floats, from zero-extended bytes: a byte holds one element of two lane groups (low nibble, high
    // nibble). Both ways below give the exact integer as a float, so both form the same products.
    // - 16 lanes: a lane permute looks the value up (it reads only the index's low 4 bits, so the low nibble needs no
    //   mask), written out at each call site. Behind a shared helper C2 compiled the permute and the shift as calls
    //   with boxed vectors, having no receiver type for them at parse time: Q4_0 batch 1 fell from ~72 to ~13 GFLOP/s
    //   on a Zen 5 core, and batch 16 lost 3-13% (docs/BENCHMARKS.md, session 10).
    // - 8 lanes: a 16-entry table does not fit one vector, so the helpers below mask or shift the value out and make it
    //   a float ({@link #asFloat}). They are small enough for C2 to inline at any call site (MaxInlineSize, 35
    //   bytecodes).

    /** Low nibbles less 8 (Q4_0's values before the scale), with 8 lanes. */
    private static FloatVector lowLess8(IntVector u) {
        return asFloat(u.and(0x0F)).sub(TWO_23 + 8);
    }

    /** High nibbles less 8, with 8 lanes. */
    private static FloatVector highLess8(IntVector u) {
        return asFloat(u.lanewise(LSHR, 4)).sub(TWO_23 + 8);
    }

    /** Low nibbles (Q4_K's values before scale and min), with 8 lanes. */
    private static FloatVector low(IntVector u) {
        return asFloat(u.and(0x0F)).sub(TWO_23);
    }

    /** High nibbles, with 8 lanes. */
    private static FloatVector high(IntVector u) {
        return asFloat(u.lanewise(LSHR, 4)).sub(TWO_23);
    }

    private static final float TWO_23 = 0x1p23f;

    /**
     * 2^23 + n for small non-negative n, as the bits of a float whose mantissa is n; less 2^23 (+ 8) it is exactly n
     * (n - 8): an exact int-to-float (and the bias) in an OR and a subtract.
     */
    private static FloatVector asFloat(IntVector n) {
        return n.or(0x4B00_0000).reinterpretAsFloats();
    }

    /** outs[i] = ws[i] x for {@code batch} rows of x; all copies share {@code cols}. */
    static void matmul(LaneRows[] ps, float[] x, int batch, float[][] outs) {
        int int16 = 0;
        for (LaneRows p : ps) if (p.quantizedActivations()) int16++;
        if (int16 == ps.length) {
            NibbleInt16MatMul.matmul(ps, x, batch, outs);
            return;
        }
        if (int16 > 0) { // a group mixing recipes: each matrix keeps its own, whatever it is projected with
            LaneRows[][] split = {new LaneRows[int16], new LaneRows[ps.length - int16]};
            float[][][] splitOuts = {new float[int16][], new float[ps.length - int16][]};
            int[] n = new int[2];
            for (int i = 0; i < ps.length; i++) {
                int side = ps[i].quantizedActivations() ? 0 : 1;
                split[side][n[side]] = ps[i];
                splitOuts[side][n[side]++] = outs[i];
            }
            NibbleInt16MatMul.matmul(split[0], x, batch, splitOuts[0]);
            matmul(split[1], x, batch, splitOuts[1]);
            return;
        }
        if (batch < 4) {
            int[] firstSg = firstTiles(ps, W);
            // One work item per super-group of a matrix: 8 chains, or 4 over its first half where the matrix ends
            // inside it. Each thread streams a contiguous range of items, one sequential stream for the prefetchers,
            // and then takes from the far end of the other's (Parallel.Job). With one fixed share per thread (before
            // session 10) the thread that finished first waited for the other: on a Zen 5 the caller waited 180-190 us
            // of each ~1.15 ms output projection of smol135m (now 57-75 us) and 7-14 us of each QKV projection's
            // 15 us of work (docs/BENCHMARKS.md, session 10).
            Parallel.forRange(firstSg[ps.length], 1, (from, to) -> {
                float[] one = ONE.get();
                int m = 0;
                for (int i = from; i < to; i++) {
                    while (i >= firstSg[m + 1]) m++;
                    LaneRows p = ps[m];
                    int sg = i - firstSg[m];
                    boolean whole = sg * W + TW < p.rows(); // its second half holds rows
                    for (int t = 0; t < batch; t++) {
                        int xOff = t * p.cols();
                        if (whole) {
                            if (p.mins() != null) nibblesK(p, sg, x, xOff, one);
                            else if (p.nibbles() && L == 8) nibblesByBlock(p, sg, x, xOff, one);
                            else if (p.nibbles()) nibbles(p, sg, x, xOff, one);
                            else int8(p, sg, x, xOff, one);
                            store(one, 0, outs[m], t * p.rows(), sg * W, W, p.rows());
                        } else {
                            if (p.mins() != null) nibblesKHalf(p, sg, x, xOff, one);
                            else if (p.nibbles()) nibblesHalf(p, sg, x, xOff, one);
                            else int8Half(p, sg, x, xOff, one);
                            store(one, 0, outs[m], t * p.rows(), sg * W, TW, p.rows());
                        }
                    }
                }
            });
            return;
        }
        // Batched: tiles of half a super-group (64 rows, a 512-k slice of 128 KiB), or from batch 32 of one lane-group
        // pair (32 rows, 1024 k); with whole 128-row super-groups (256 KiB) prefill and batch 64 measured 10-25% slower.
        // Fused tiles (fusesDecode) take whole super-groups, or the first half of one where the matrix ends in it.
        int[] units = new int[ps.length];
        boolean[] fused = new boolean[ps.length];
        for (int i = 0; i < ps.length; i++) {
            fused[i] = fusesDecode(ps[i], batch);
            units[i] = fused[i] ? W : tileRows(batch);
        }
        int[] firstTile = firstTiles(ps, units);
        float[] xt = interleaved(x, batch, ps[0].cols());
        Parallel.forEach(firstTile[ps.length], (from, to) -> {
            float[] s = SCRATCH.get();
            float[] acc = ACC.get();
            if (acc.length < batch * W) {
                acc = new float[batch * W];
                ACC.set(acc);
            }
            int m = 0;
            for (int tile = from; tile < to; tile++) {
                while (tile >= firstTile[m + 1]) m++;
                int r0 = (tile - firstTile[m]) * units[m];
                int w = units[m] == W && r0 + TW >= ps[m].rows() ? TW : units[m]; // a super-group's second half may be empty
                if (fused[m]) fusedTile(ps[m], r0, w, xt, batch, outs[m], acc);
                else tile(ps[m], r0, w, xt, batch, outs[m], s, acc);
            }
        });
    }

    /**
     * Where each copy's work starts in one list of tiles of {@code unit} rows over all copies (the last entry is the
     * count); tiles past a matrix's last row are not listed.
     */
    static int[] firstTiles(LaneRows[] ps, int unit) {
        int[] units = new int[ps.length];
        java.util.Arrays.fill(units, unit);
        return firstTiles(ps, units);
    }

    /** {@link #firstTiles(LaneRows[], int)} with tiles of {@code units[i]} rows over copy i. */
    static int[] firstTiles(LaneRows[] ps, int[] units) {
        int[] first = new int[ps.length + 1];
        for (int i = 0; i < ps.length; i++) first[i + 1] = first[i] + (ps[i].rows() + units[i] - 1) / units[i];
        return first;
    }

    /** The smallest batch whose tiles are one lane-group pair. */
    static final int PAIR_TILES_FROM_BATCH = 32;

    /**
     * Rows per batched tile: {@link #TW}, or from {@link #PAIR_TILES_FROM_BATCH} tokens a lane-group pair (2L). With many
     * tokens per weight the decode pass is cheap, and pair tiles ran 3-12% faster on one thread at batch 32-128 (each
     * register tile runs twice the k per call; smol135m's 576 columns make one slice, not 512 + 64); two threads also
     * split smol135m's 9-half projections 9:9 instead of 5:4. At batch 16 the decode pass is ~25% of the time and
     * decoding 2 lane groups per step instead of 4 cost 5-9%.
     */
    static int tileRows(int batch) {
        return batch >= PAIR_TILES_FROM_BATCH ? 2 * L : TW;
    }

    /**
     * Tokens in the register tile that starts with {@code left} tokens of the batch to go: 12 while that leaves no 4-token
     * tail (k2x4, with 8 chains and a broadcast per 2 FMAs, ran at about half the rate of k2x12 at batch 64), so 16 go as
     * 8 + 8 and 64 as 4 x 12 + 2 x 8; then 4, then single tokens. With {@link #SIXTEEN_REGISTERS}: 5 while the rest
     * still splits into 5s and 4s (64 = 12 x 5 + 4, 16 = 4 x 4), then 4, then single tokens.
     */
    static int tokenGroup(int left) {
        if (SIXTEEN_REGISTERS) return left >= 5 && fivesAndFours(left - 5) ? 5 : left >= 4 ? 4 : 1;
        if (left >= 24 || (left >= 12 && left < 16)) return 12;
        return left >= 8 ? 8 : left >= 4 ? 4 : 1;
    }

    /**
     * 256-bit vectors: an AVX2 core, with 16 vector registers. There k2x12 (24 accumulators) and k2x8 (16) spill, and so
     * did a 2 x 6 tile (12 accumulators, 2 weights and 2 broadcasts in flight: C2 kept one accumulator on the stack, a
     * store and reload in every step's dependency chain). Tiles are 2 x 5 and 2 x 4 instead: on a Zen 3 core, one
     * thread at batch 64, 2 x 6 ran at 36-38 GFLOP/s, 2 x 4 at 37-55 and 2 x 5 at 45-62 (docs/BENCHMARKS.md, session 9).
     */
    static final boolean SIXTEEN_REGISTERS = L == 8;

    /** Whether n tokens make whole 5- and 4-token tiles (so no single-token tiles are left). */
    private static boolean fivesAndFours(int n) {
        return n == 0 || n == 4 || n == 5 || (n >= 8 && n != 11);
    }

    private static final ThreadLocal<float[]> INTERLEAVED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * The activations re-laid for the register tiles: the batch is cut into the tiles' token groups ({@link
     * #tokenGroup}, as {@link #tile} walks it), and within a group starting at token t with g tokens, element k of
     * its tokens sits side by side: {@code xt[t * cols + k * g + j] = x[(t + j) * cols + k]}. A tile then broadcasts its
     * g values of element k from one pointer at fixed offsets, where reading g rows of x took g index computations per
     * step, more than the registers held (C2 spilled them and reloaded each per step). Values are unchanged, so the
     * recipe is too. A per-thread buffer of the calling thread; the pool only reads it.
     */
    private static float[] interleaved(float[] x, int batch, int cols) {
        float[] xt = INTERLEAVED.get();
        if (xt.length < batch * cols) {
            xt = new float[batch * cols];
            INTERLEAVED.set(xt);
        }
        float[] out = xt;
        // Split over k, so the threads write disjoint lines: a scalar transpose on the calling thread alone was ~3% of a
        // batch-64 matmul's CPU time, spent while the other threads waited.
        Parallel.forRange(cols, 256, (k0, k1) -> {
            for (int t = 0; t < batch; ) {
                int g = tokenGroup(batch - t);
                int base = t * cols;
                for (int j = 0; j < g; j++) {
                    int src = (t + j) * cols;
                    for (int k = k0, o = base + k0 * g + j; k < k1; k++, o += g) out[o] = x[src + k];
                }
                t += g;
            }
        });
        return xt;
    }

    /** Lanes [0, w) of {@code src} from {@code srcOff} to out rows r0.. of one token (rows past the matrix dropped). */
    private static void store(float[] src, int srcOff, float[] out, int outOff, int r0, int w, int rows) {
        System.arraycopy(src, srcOff, out, outOff + r0, Math.min(w, rows - r0));
    }

    /**
     * Rows [r0, r0 + w) of a copy ({@code w} is {@link #TW} or a lane-group pair, r0 a multiple of it) over the whole
     * batch, K slice by K slice; accumulators carried in {@code acc} ([t][w]).
     */
    private static void tile(LaneRows p, int r0, int w, float[] xt, int batch, float[] out, float[] s, float[] acc) {
        int cols = p.cols(), blocks = p.blocks(), sg = r0 / p.width(), lane0 = r0 % p.width();
        java.util.Arrays.fill(acc, 0, batch * w, 0f);
        int sliceBlocks = Math.max(1, SCRATCH_FLOATS / w / 32);
        for (int b0 = 0; b0 < blocks; b0 += sliceBlocks) {
            int b1 = Math.min(blocks, b0 + sliceBlocks);
            decode(p, sg, lane0, w, b0, b1, s);
            int k0 = 32 * b0, k1 = 32 * b1;
            for (int pair = 0; pair < w; pair += 2 * L) {
                for (int t = 0; t < batch; ) {
                    int tg = tokenGroup(batch - t);
                    if (tg == 12) k2x12(s, w, pair, xt, t * cols + 12 * k0, t, k1 - k0, acc);
                    else if (tg == 8) k2x8(s, w, pair, xt, t * cols + 8 * k0, t, k1 - k0, acc);
                    else if (tg == 5) k2x5(s, w, pair, xt, t * cols + 5 * k0, t, k1 - k0, acc);
                    else if (tg == 4) k2x4(s, w, pair, xt, t * cols + 4 * k0, t, k1 - k0, acc);
                    else k2x1(s, w, pair, xt, t * cols + k0, t, k1 - k0, acc);
                    t += tg;
                }
            }
        }
        for (int t = 0; t < batch; t++) store(acc, t * w, out, t * p.rows(), r0, w, p.rows());
    }

    /**
     * {@link #tile} for copies that skip the decode pass ({@link #fusesDecode}): a super-group (or its first half, w
     * rows) one block at a time, every lane-group pair and token group converting the block's quants in registers.
     * A method of its own, so that {@link #tile} compiles as before: with these six kernels' call sites inside it, C2
     * ran out of inlining budget there and the decode pass's tiles ran with boxed vectors (LaneKernelAllocationTest).
     */
    private static void fusedTile(LaneRows p, int r0, int w, float[] xt, int batch, float[] out, float[] acc) {
        int cols = p.cols(), sg = r0 / p.width(), lane0 = r0 % p.width();
        java.util.Arrays.fill(acc, 0, batch * w, 0f);
        for (int b = 0; b < p.blocks(); b++) {
            for (int pair = 0; pair < w; pair += 2 * L) {
                for (int t = 0; t < batch; ) {
                    int tg = tokenGroup(batch - t), xo = t * cols + tg * 32 * b, c = t * w + pair, lane = lane0 + pair;
                    if (p.nibbles()) {
                        if (tg == 8) n2x8(p, sg, lane, b, b + 1, xt, xo, acc, c, w);
                        else if (tg == 4) n2x4(p, sg, lane, b, b + 1, xt, xo, acc, c, w);
                        else n2x1(p, sg, lane, b, b + 1, xt, xo, acc, c, w);
                    } else if (tg == 8) i2x8(p, sg, lane, b, b + 1, xt, xo, acc, c, w);
                    else if (tg == 4) i2x4(p, sg, lane, b, b + 1, xt, xo, acc, c, w);
                    else i2x1(p, sg, lane, b, b + 1, xt, xo, acc, c, w);
                    t += tg;
                }
            }
        }
        for (int t = 0; t < batch; t++) store(acc, t * w, out, t * p.rows(), r0, w, p.rows());
    }

    /**
     * Blocks [b0, b1) of lanes [lane0, lane0 + w) of super-group {@code sg} (w is {@link #TW} or a lane-group pair) as
     * floats, k-major: element k of lane lane0 + i at {@code s[(k - 32 b0) * w + i]}. One method per layout, so C2
     * compiles and profiles each on its own: as one method, in a JVM that had decoded other types first, Q6_K's pair
     * tiles ran with boxed vectors, ~49 KB allocated per call (LaneKernelAllocationTest).
     */
    static void decode(LaneRows p, int sg, int lane0, int w, int b0, int b1, float[] s) {
        if (p.nibbles()) decodeNibbles(p, sg, lane0, w, b0, b1, s);
        else if (w == TW) decodeInt8Half(p, sg, lane0, b0, b1, s);
        else decodeInt8Pair(p, sg, lane0, b0, b1, s);
    }

    /** {@link #decode} of nibbles (Q4_0: {@code (n - 8) d}; Q4_K: {@code n d - m}), lane-group pair by pair. */
    private static void decodeNibbles(LaneRows p, int sg, int lane0, int w, int b0, int b1, float[] s) {
        byte[] q = p.quants();
        float[] d = p.scales(), mn = p.mins();
        int blocks = p.blocks(), sw = p.width(), pairs = w / (2 * L);
        for (int b = b0; b < b1; b++) {
            int so = (sg * blocks + b) * sw + lane0;
            int y = 32 * (b - b0) * w;
            int sgb = sg * blocks + b;
            for (int pr = 0; pr < pairs; pr++) { // lane-group pairs: low nibbles group 2 pair, high 2 pair + 1
                int pair = lane0 / (2 * L) + pr;
                FloatVector dl = FloatVector.fromArray(F, d, so + 2 * pr * L);
                FloatVector dh = FloatVector.fromArray(F, d, so + (2 * pr + 1) * L);
                if (mn != null) { // Q4_K: n * scale - min
                    FloatVector ml = FloatVector.fromArray(F, mn, so + 2 * pr * L);
                    FloatVector mh = FloatVector.fromArray(F, mn, so + (2 * pr + 1) * L);
                    for (int k = 0, z = y + 2 * pr * L; k < 32; k++, z += w) {
                        IntVector u = Dequant.u2i(q, LaneRows.nibbleOffset(sgb, k, pair, L));
                        FloatVector lo = L == 16 ? u.selectFrom(NIBBLES_0_15).reinterpretAsFloats() : low(u);
                        FloatVector hi = L == 16
                                ? u.lanewise(LSHR, 4).selectFrom(NIBBLES_0_15).reinterpretAsFloats() : high(u);
                        lo.mul(dl).sub(ml).intoArray(s, z);
                        hi.mul(dh).sub(mh).intoArray(s, z + L);
                    }
                    continue;
                }
                for (int k = 0, z = y + 2 * pr * L; k < 32; k++, z += w) {
                    IntVector u = Dequant.u2i(q, LaneRows.nibbleOffset(sgb, k, pair, L));
                    FloatVector lo = L == 16 ? u.selectFrom(NIBBLE_VALUES).reinterpretAsFloats() : lowLess8(u);
                    FloatVector hi = L == 16
                            ? u.lanewise(LSHR, 4).selectFrom(NIBBLE_VALUES).reinterpretAsFloats() : highLess8(u);
                    lo.mul(dl).intoArray(s, z);
                    hi.mul(dh).intoArray(s, z + L);
                }
            }
        }
    }

    /** {@link #decode} of int8 quants (Q8_0, Q4_0 as int8, Q6_K) over half a super-group: four lane groups a step. */
    private static void decodeInt8Half(LaneRows p, int sg, int lane0, int b0, int b1, float[] s) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int run = p.run();
        for (int b = b0; b < b1; b++) {
            int o = (sg * p.blocks() + b) * 32 * W + lane0, z = 32 * (b - b0) * TW;
            for (int r0 = 0; r0 < 32; r0 += run) { // scale runs of this block (one, or two for Q6_K)
                int sr = (sg * p.cols() + 32 * b + r0) / run * W + lane0;
                FloatVector d0 = FloatVector.fromArray(F, d, sr), d1 = FloatVector.fromArray(F, d, sr + L);
                FloatVector d2 = FloatVector.fromArray(F, d, sr + 2 * L), d3 = FloatVector.fromArray(F, d, sr + 3 * L);
                for (int k = 0; k < run; k++, o += W, z += TW) {
                    Dequant.b2f(q, o).mul(d0).intoArray(s, z);
                    Dequant.b2f(q, o + L).mul(d1).intoArray(s, z + L);
                    Dequant.b2f(q, o + 2 * L).mul(d2).intoArray(s, z + 2 * L);
                    Dequant.b2f(q, o + 3 * L).mul(d3).intoArray(s, z + 3 * L);
                }
            }
        }
    }

    /**
     * {@link #decode} of int8 quants over one lane-group pair: halves keep the 4-vector step of {@link
     * #decodeInt8Half}, decode is ~25% of a batch-16 matmul.
     */
    private static void decodeInt8Pair(LaneRows p, int sg, int lane0, int b0, int b1, float[] s) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int run = p.run();
        for (int b = b0; b < b1; b++) {
            int o = (sg * p.blocks() + b) * 32 * W + lane0, z = 32 * (b - b0) * 2 * L;
            for (int r0 = 0; r0 < 32; r0 += run) {
                int sr = (sg * p.cols() + 32 * b + r0) / run * W + lane0;
                FloatVector d0 = FloatVector.fromArray(F, d, sr), d1 = FloatVector.fromArray(F, d, sr + L);
                for (int k = 0; k < run; k++, o += W, z += 2 * L) {
                    Dequant.b2f(q, o).mul(d0).intoArray(s, z);
                    Dequant.b2f(q, o + L).mul(d1).intoArray(s, z + L);
                }
            }
        }
    }

    /** Super-group {@code sg} (int8 quants, 8 lane groups) times one activation row: eight chains, results to out[0..8L). */
    static void int8(LaneRows p, int sg, float[] x, int xOff, float[] out) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int run = p.run(), runs = p.cols() / run;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int b = 0; b < runs; b++) {
            int so = (sg * runs + b) * W;
            FloatVector d0 = FloatVector.fromArray(F, d, so), d1 = FloatVector.fromArray(F, d, so + L);
            FloatVector d2 = FloatVector.fromArray(F, d, so + 2 * L), d3 = FloatVector.fromArray(F, d, so + 3 * L);
            FloatVector d4 = FloatVector.fromArray(F, d, so + 4 * L), d5 = FloatVector.fromArray(F, d, so + 5 * L);
            FloatVector d6 = FloatVector.fromArray(F, d, so + 6 * L), d7 = FloatVector.fromArray(F, d, so + 7 * L);
            int xb = xOff + run * b, qb = (sg * p.cols() + run * b) * W;
            for (int k = 0; k < run; k++) {
                int qo = qb + k * W; // the loop counter times a constant: see W
                FloatVector xv = FloatVector.broadcast(F, x[xb + k]);
                a0 = Dequant.b2f(q, qo).mul(d0).fma(xv, a0);
                a1 = Dequant.b2f(q, qo + L).mul(d1).fma(xv, a1);
                a2 = Dequant.b2f(q, qo + 2 * L).mul(d2).fma(xv, a2);
                a3 = Dequant.b2f(q, qo + 3 * L).mul(d3).fma(xv, a3);
                a4 = Dequant.b2f(q, qo + 4 * L).mul(d4).fma(xv, a4);
                a5 = Dequant.b2f(q, qo + 5 * L).mul(d5).fma(xv, a5);
                a6 = Dequant.b2f(q, qo + 6 * L).mul(d6).fma(xv, a6);
                a7 = Dequant.b2f(q, qo + 7 * L).mul(d7).fma(xv, a7);
            }
        }
        a0.intoArray(out, 0);
        a1.intoArray(out, L);
        a2.intoArray(out, 2 * L);
        a3.intoArray(out, 3 * L);
        a4.intoArray(out, 4 * L);
        a5.intoArray(out, 5 * L);
        a6.intoArray(out, 6 * L);
        a7.intoArray(out, 7 * L);
    }

    /** {@link #int8} over the first half of super-group {@code sg} (lane groups 0..3): results to out[0..4L). */
    static void int8Half(LaneRows p, int sg, float[] x, int xOff, float[] out) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int run = p.run(), runs = p.cols() / run;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < runs; b++) {
            int so = (sg * runs + b) * W;
            FloatVector d0 = FloatVector.fromArray(F, d, so), d1 = FloatVector.fromArray(F, d, so + L);
            FloatVector d2 = FloatVector.fromArray(F, d, so + 2 * L), d3 = FloatVector.fromArray(F, d, so + 3 * L);
            int xb = xOff + run * b, qb = (sg * p.cols() + run * b) * W;
            for (int k = 0; k < run; k++) {
                int qo = qb + k * W;
                FloatVector xv = FloatVector.broadcast(F, x[xb + k]);
                a0 = Dequant.b2f(q, qo).mul(d0).fma(xv, a0);
                a1 = Dequant.b2f(q, qo + L).mul(d1).fma(xv, a1);
                a2 = Dequant.b2f(q, qo + 2 * L).mul(d2).fma(xv, a2);
                a3 = Dequant.b2f(q, qo + 3 * L).mul(d3).fma(xv, a3);
            }
        }
        store4(a0, a1, a2, a3, out);
    }

    /**
     * {@link #nibbles} over the first half of super-group {@code sg}: its lane-group pairs 0 and 1, whose bytes sit 4L
     * before the second half's in each step. Results to out[0..4L).
     */
    static void nibblesHalf(LaneRows p, int sg, float[] x, int xOff, float[] out) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int blocks = p.blocks();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocks; b++) {
            int so = (sg * blocks + b) * W;
            FloatVector d0 = FloatVector.fromArray(F, d, so), d1 = FloatVector.fromArray(F, d, so + L);
            FloatVector d2 = FloatVector.fromArray(F, d, so + 2 * L), d3 = FloatVector.fromArray(F, d, so + 3 * L);
            int qb = (sg * blocks + b) * 16 * W; // nibbleOffset(sg * blocks + b, 0, 0, L)
            int xb = xOff + 32 * b;
            for (int m = 0; m < 16; m++) for (int e = 0; e < 2; e++) { // k = 2m + e
                int qo = qb + m * W + e * 2 * L;
                FloatVector xv = FloatVector.broadcast(F, x[xb + 2 * m + e]);
                IntVector u = Dequant.u2i(q, qo);
                FloatVector lo = L == 16 ? u.selectFrom(NIBBLE_VALUES).reinterpretAsFloats() : lowLess8(u);
                FloatVector hi = L == 16
                        ? u.lanewise(LSHR, 4).selectFrom(NIBBLE_VALUES).reinterpretAsFloats() : highLess8(u);
                a0 = lo.mul(d0).fma(xv, a0);
                a1 = hi.mul(d1).fma(xv, a1);
                u = Dequant.u2i(q, qo + L);
                lo = L == 16 ? u.selectFrom(NIBBLE_VALUES).reinterpretAsFloats() : lowLess8(u);
                hi = L == 16 ? u.lanewise(LSHR, 4).selectFrom(NIBBLE_VALUES).reinterpretAsFloats() : highLess8(u);
                a2 = lo.mul(d2).fma(xv, a2);
                a3 = hi.mul(d3).fma(xv, a3);
            }
        }
        store4(a0, a1, a2, a3, out);
    }

    /** Four lane groups' chains to out[0..4L). */
    private static void store4(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3, float[] out) {
        a0.intoArray(out, 0);
        a1.intoArray(out, L);
        a2.intoArray(out, 2 * L);
        a3.intoArray(out, 3 * L);
    }

    /** {@link #nibblesK} over the first half of super-group {@code sg}: results to out[0..4L). */
    static void nibblesKHalf(LaneRows p, int sg, float[] x, int xOff, float[] out) {
        float[] chains = CHAINS.get();
        java.util.Arrays.fill(chains, 0, TW, 0f);
        for (int b = 0; b < p.blocks(); b++) nibblesKBlock(p, sg, b, 0, x, xOff, chains);
        System.arraycopy(chains, 0, out, 0, TW);
    }

    /**
     * Super-group {@code sg} (Q4_0 nibbles, 16 lanes only, 8 lane groups) times one activation row. Each byte holds one
     * element of two groups' rows ({@link LaneRows#nibbleOffset}): one widening serves two chains, the low nibble
     * and the high one each looked up as {@code n - 8} (a lane permute, which reads only an index's low 4 bits),
     * then times the row's scale.
     */
    static void nibbles(LaneRows p, int sg, float[] x, int xOff, float[] out) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int blocks = p.blocks();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int b = 0; b < blocks; b++) {
            int so = (sg * blocks + b) * W;
            FloatVector d0 = FloatVector.fromArray(F, d, so), d1 = FloatVector.fromArray(F, d, so + L);
            FloatVector d2 = FloatVector.fromArray(F, d, so + 2 * L), d3 = FloatVector.fromArray(F, d, so + 3 * L);
            FloatVector d4 = FloatVector.fromArray(F, d, so + 4 * L), d5 = FloatVector.fromArray(F, d, so + 5 * L);
            FloatVector d6 = FloatVector.fromArray(F, d, so + 6 * L), d7 = FloatVector.fromArray(F, d, so + 7 * L);
            int qb = (sg * blocks + b) * 16 * W; // nibbleOffset(sg * blocks + b, 0, 0, L)
            int xb = xOff + 32 * b;
            for (int m = 0; m < 16; m++) for (int e = 0; e < 2; e++) { // k = 2m + e
                int qo = qb + m * W + e * 2 * L; // pairs 0-1 here, 2-3 half a step (4L bytes) on
                FloatVector xv = FloatVector.broadcast(F, x[xb + 2 * m + e]);
                IntVector u = Dequant.u2i(q, qo);
                a0 = u.selectFrom(NIBBLE_VALUES).reinterpretAsFloats().mul(d0).fma(xv, a0);
                a1 = u.lanewise(LSHR, 4).selectFrom(NIBBLE_VALUES).reinterpretAsFloats().mul(d1).fma(xv, a1);
                u = Dequant.u2i(q, qo + L);
                a2 = u.selectFrom(NIBBLE_VALUES).reinterpretAsFloats().mul(d2).fma(xv, a2);
                a3 = u.lanewise(LSHR, 4).selectFrom(NIBBLE_VALUES).reinterpretAsFloats().mul(d3).fma(xv, a3);
                u = Dequant.u2i(q, qo + 4 * L);
                a4 = u.selectFrom(NIBBLE_VALUES).reinterpretAsFloats().mul(d4).fma(xv, a4);
                a5 = u.lanewise(LSHR, 4).selectFrom(NIBBLE_VALUES).reinterpretAsFloats().mul(d5).fma(xv, a5);
                u = Dequant.u2i(q, qo + 5 * L);
                a6 = u.selectFrom(NIBBLE_VALUES).reinterpretAsFloats().mul(d6).fma(xv, a6);
                a7 = u.lanewise(LSHR, 4).selectFrom(NIBBLE_VALUES).reinterpretAsFloats().mul(d7).fma(xv, a7);
            }
        }
        a0.intoArray(out, 0);
        a1.intoArray(out, L);
        a2.intoArray(out, 2 * L);
        a3.intoArray(out, 3 * L);
        a4.intoArray(out, 4 * L);
        a5.intoArray(out, 5 * L);
        a6.intoArray(out, 6 * L);
        a7.intoArray(out, 7 * L);
    }

    /**
     * {@link #nibbles} with 8 lanes, where its 8 chains in one loop ran with vector ops left as calls, by the Java
     * fallback: 0.1-2 GFLOP/s instead of ~15 on a Zen 3 (session 9, read then as C2's inlining budget; session 10 found
     * the same symptom at 16 lanes came from the nibble helpers, which the 8-chain loop then also used, so an 8-chain
     * 8-lane kernel with the lookups at the call site was never measured). As {@link #nibblesK}, each block in two
     * 4-chain passes, the second reading the block's 1 KiB from L1. One thread, l1b from DRAM: 17-18.5 GFLOP/s, against
     * 14-16 streaming half super-groups (two passes over each super-group's lines).
     */
    static void nibblesByBlock(LaneRows p, int sg, float[] x, int xOff, float[] out) {
        float[] chains = CHAINS.get();
        java.util.Arrays.fill(chains, 0f);
        int blocks = p.blocks();
        for (int b = 0; b < blocks; b++) {
            nibblesBlock(p, sg, b, 0, x, xOff, chains);
            nibblesBlock(p, sg, b, 1, x, xOff, chains);
        }
        System.arraycopy(chains, 0, out, 0, LaneRows.GROUPS * L);
    }

    /** Block b of super-group sg (Q4_0 nibbles), lane groups 4 half .. 4 half + 3: chains from and back to chains[4 half L ..]. */
    private static void nibblesBlock(LaneRows p, int sg, int b, int half, float[] x, int xOff, float[] chains) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int g0 = half * 4 * L;
        int so = (sg * p.blocks() + b) * W + g0;
        FloatVector a0 = FloatVector.fromArray(F, chains, g0), a1 = FloatVector.fromArray(F, chains, g0 + L);
        FloatVector a2 = FloatVector.fromArray(F, chains, g0 + 2 * L), a3 = FloatVector.fromArray(F, chains, g0 + 3 * L);
        FloatVector d0 = FloatVector.fromArray(F, d, so), d1 = FloatVector.fromArray(F, d, so + L);
        FloatVector d2 = FloatVector.fromArray(F, d, so + 2 * L), d3 = FloatVector.fromArray(F, d, so + 3 * L);
        int qb = (sg * p.blocks() + b) * 16 * W + half * 4 * L; // this half's line of each step
        int xb = xOff + 32 * b;
        for (int m = 0; m < 16; m++) for (int e = 0; e < 2; e++) { // k = 2m + e
            int qo = qb + m * W + e * 2 * L;
            FloatVector xv = FloatVector.broadcast(F, x[xb + 2 * m + e]);
            IntVector u = Dequant.u2i(q, qo);
            a0 = lowLess8(u).mul(d0).fma(xv, a0);
            a1 = highLess8(u).mul(d1).fma(xv, a1);
            u = Dequant.u2i(q, qo + L);
            a2 = lowLess8(u).mul(d2).fma(xv, a2);
            a3 = highLess8(u).mul(d3).fma(xv, a3);
        }
        a0.intoArray(chains, g0);
        a1.intoArray(chains, g0 + L);
        a2.intoArray(chains, g0 + 2 * L);
        a3.intoArray(chains, g0 + 3 * L);
    }

    /**
     * {@link #nibbles} for Q4_K: nibble values {@code n} times the row's sub-block scale, less its min (the codec's).
     * Eight chains with the extra subtract in one loop overran C2's inlining node budget (NodeCountInliningCutoff,
     * 4x slower), and two passes over the whole super-group (one per line of each step) halved the stream from
     * DRAM. So each block is read in two 4-chain passes, lane groups 0-3 then 4-7, the chains parked in a small
     * array between them: both passes stay within the block's 2 KiB.
     */
    static void nibblesK(LaneRows p, int sg, float[] x, int xOff, float[] out) {
        float[] chains = CHAINS.get();
        java.util.Arrays.fill(chains, 0f);
        int blocks = p.blocks();
        for (int b = 0; b < blocks; b++) {
            nibblesKBlock(p, sg, b, 0, x, xOff, chains);
            nibblesKBlock(p, sg, b, 1, x, xOff, chains);
        }
        System.arraycopy(chains, 0, out, 0, LaneRows.GROUPS * L);
    }

    /** Block b of super-group sg (Q4_K), lane groups 4 half .. 4 half + 3: chains from and back to chains[4 half L ..]. */
    private static void nibblesKBlock(LaneRows p, int sg, int b, int half, float[] x, int xOff, float[] chains) {
        byte[] q = p.quants();
        float[] d = p.scales(), mn = p.mins();
        int g0 = half * 4 * L;
        int so = (sg * p.blocks() + b) * W + g0;
        FloatVector a0 = FloatVector.fromArray(F, chains, g0), a1 = FloatVector.fromArray(F, chains, g0 + L);
        FloatVector a2 = FloatVector.fromArray(F, chains, g0 + 2 * L), a3 = FloatVector.fromArray(F, chains, g0 + 3 * L);
        FloatVector d0 = FloatVector.fromArray(F, d, so), d1 = FloatVector.fromArray(F, d, so + L);
        FloatVector d2 = FloatVector.fromArray(F, d, so + 2 * L), d3 = FloatVector.fromArray(F, d, so + 3 * L);
        FloatVector m0 = FloatVector.fromArray(F, mn, so), m1 = FloatVector.fromArray(F, mn, so + L);
        FloatVector m2 = FloatVector.fromArray(F, mn, so + 2 * L), m3 = FloatVector.fromArray(F, mn, so + 3 * L);
        int qb = (sg * p.blocks() + b) * 16 * W + half * 4 * L; // this half's line of each step
        int xb = xOff + 32 * b;
        for (int m = 0; m < 16; m++) for (int e = 0; e < 2; e++) { // k = 2m + e
            int qo = qb + m * W + e * 2 * L;
            FloatVector xv = FloatVector.broadcast(F, x[xb + 2 * m + e]);
            IntVector u = Dequant.u2i(q, qo);
            FloatVector lo = L == 16 ? u.selectFrom(NIBBLES_0_15).reinterpretAsFloats() : low(u);
            FloatVector hi = L == 16 ? u.lanewise(LSHR, 4).selectFrom(NIBBLES_0_15).reinterpretAsFloats() : high(u);
            a0 = lo.mul(d0).sub(m0).fma(xv, a0);
            a1 = hi.mul(d1).sub(m1).fma(xv, a1);
            u = Dequant.u2i(q, qo + L);
            lo = L == 16 ? u.selectFrom(NIBBLES_0_15).reinterpretAsFloats() : low(u);
            hi = L == 16 ? u.lanewise(LSHR, 4).selectFrom(NIBBLES_0_15).reinterpretAsFloats() : high(u);
            a2 = lo.mul(d2).sub(m2).fma(xv, a2);
            a3 = hi.mul(d3).sub(m3).fma(xv, a3);
        }
        a0.intoArray(chains, g0);
        a1.intoArray(chains, g0 + L);
        a2.intoArray(chains, g0 + 2 * L);
        a3.intoArray(chains, g0 + 3 * L);
    }

    // Register tiles over a decoded slice: lane groups {@code pair} and {@code pair + L} of the scratch (element k of
    // the slice at k * w), the tile's tokens' element k side by side in xt from xo ({@link #interleaved}: g floats per
    // k); accumulators of token t at acc[t * w ..], loaded at the start and stored back at the end.

    /** 2 lane groups x 12 tokens: 24 accumulators, 2 loads and 12 broadcasts per 24 FMAs. */
    private static void k2x12(float[] s, int w, int pair, float[] xt, int xo, int t, int n, float[] acc) {
        int c = t * w + pair; // acc of token t, lane group pair; + w per token, + L for the second group
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        FloatVector a1 = FloatVector.fromArray(F, acc, c + w), b1 = FloatVector.fromArray(F, acc, c + w + L);
        FloatVector a2 = FloatVector.fromArray(F, acc, c + 2 * w), b2 = FloatVector.fromArray(F, acc, c + 2 * w + L);
        FloatVector a3 = FloatVector.fromArray(F, acc, c + 3 * w), b3 = FloatVector.fromArray(F, acc, c + 3 * w + L);
        FloatVector a4 = FloatVector.fromArray(F, acc, c + 4 * w), b4 = FloatVector.fromArray(F, acc, c + 4 * w + L);
        FloatVector a5 = FloatVector.fromArray(F, acc, c + 5 * w), b5 = FloatVector.fromArray(F, acc, c + 5 * w + L);
        FloatVector a6 = FloatVector.fromArray(F, acc, c + 6 * w), b6 = FloatVector.fromArray(F, acc, c + 6 * w + L);
        FloatVector a7 = FloatVector.fromArray(F, acc, c + 7 * w), b7 = FloatVector.fromArray(F, acc, c + 7 * w + L);
        FloatVector a8 = FloatVector.fromArray(F, acc, c + 8 * w), b8 = FloatVector.fromArray(F, acc, c + 8 * w + L);
        FloatVector a9 = FloatVector.fromArray(F, acc, c + 9 * w), b9 = FloatVector.fromArray(F, acc, c + 9 * w + L);
        FloatVector a10 = FloatVector.fromArray(F, acc, c + 10 * w), b10 = FloatVector.fromArray(F, acc, c + 10 * w + L);
        FloatVector a11 = FloatVector.fromArray(F, acc, c + 11 * w), b11 = FloatVector.fromArray(F, acc, c + 11 * w + L);
        for (int k = 0, so = pair, xi = xo; k < n; k++, so += w, xi += 12) {
            FloatVector w0 = FloatVector.fromArray(F, s, so), w1 = FloatVector.fromArray(F, s, so + L);
            FloatVector y = FloatVector.broadcast(F, xt[xi]);
            a0 = w0.fma(y, a0);
            b0 = w1.fma(y, b0);
            y = FloatVector.broadcast(F, xt[xi + 1]);
            a1 = w0.fma(y, a1);
            b1 = w1.fma(y, b1);
            y = FloatVector.broadcast(F, xt[xi + 2]);
            a2 = w0.fma(y, a2);
            b2 = w1.fma(y, b2);
            y = FloatVector.broadcast(F, xt[xi + 3]);
            a3 = w0.fma(y, a3);
            b3 = w1.fma(y, b3);
            y = FloatVector.broadcast(F, xt[xi + 4]);
            a4 = w0.fma(y, a4);
            b4 = w1.fma(y, b4);
            y = FloatVector.broadcast(F, xt[xi + 5]);
            a5 = w0.fma(y, a5);
            b5 = w1.fma(y, b5);
            y = FloatVector.broadcast(F, xt[xi + 6]);
            a6 = w0.fma(y, a6);
            b6 = w1.fma(y, b6);
            y = FloatVector.broadcast(F, xt[xi + 7]);
            a7 = w0.fma(y, a7);
            b7 = w1.fma(y, b7);
            y = FloatVector.broadcast(F, xt[xi + 8]);
            a8 = w0.fma(y, a8);
            b8 = w1.fma(y, b8);
            y = FloatVector.broadcast(F, xt[xi + 9]);
            a9 = w0.fma(y, a9);
            b9 = w1.fma(y, b9);
            y = FloatVector.broadcast(F, xt[xi + 10]);
            a10 = w0.fma(y, a10);
            b10 = w1.fma(y, b10);
            y = FloatVector.broadcast(F, xt[xi + 11]);
            a11 = w0.fma(y, a11);
            b11 = w1.fma(y, b11);
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
        a1.intoArray(acc, c + w);
        b1.intoArray(acc, c + w + L);
        a2.intoArray(acc, c + 2 * w);
        b2.intoArray(acc, c + 2 * w + L);
        a3.intoArray(acc, c + 3 * w);
        b3.intoArray(acc, c + 3 * w + L);
        a4.intoArray(acc, c + 4 * w);
        b4.intoArray(acc, c + 4 * w + L);
        a5.intoArray(acc, c + 5 * w);
        b5.intoArray(acc, c + 5 * w + L);
        a6.intoArray(acc, c + 6 * w);
        b6.intoArray(acc, c + 6 * w + L);
        a7.intoArray(acc, c + 7 * w);
        b7.intoArray(acc, c + 7 * w + L);
        a8.intoArray(acc, c + 8 * w);
        b8.intoArray(acc, c + 8 * w + L);
        a9.intoArray(acc, c + 9 * w);
        b9.intoArray(acc, c + 9 * w + L);
        a10.intoArray(acc, c + 10 * w);
        b10.intoArray(acc, c + 10 * w + L);
        a11.intoArray(acc, c + 11 * w);
        b11.intoArray(acc, c + 11 * w + L);
    }

    /** 2 lane groups x 8 tokens: 16 accumulators, 2 loads and 8 broadcasts per 16 FMAs. */
    private static void k2x8(float[] s, int w, int pair, float[] xt, int xo, int t, int n, float[] acc) {
        int c = t * w + pair; // acc of token t, lane group pair; + w per token, + L for the second group
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        FloatVector a1 = FloatVector.fromArray(F, acc, c + w), b1 = FloatVector.fromArray(F, acc, c + w + L);
        FloatVector a2 = FloatVector.fromArray(F, acc, c + 2 * w), b2 = FloatVector.fromArray(F, acc, c + 2 * w + L);
        FloatVector a3 = FloatVector.fromArray(F, acc, c + 3 * w), b3 = FloatVector.fromArray(F, acc, c + 3 * w + L);
        FloatVector a4 = FloatVector.fromArray(F, acc, c + 4 * w), b4 = FloatVector.fromArray(F, acc, c + 4 * w + L);
        FloatVector a5 = FloatVector.fromArray(F, acc, c + 5 * w), b5 = FloatVector.fromArray(F, acc, c + 5 * w + L);
        FloatVector a6 = FloatVector.fromArray(F, acc, c + 6 * w), b6 = FloatVector.fromArray(F, acc, c + 6 * w + L);
        FloatVector a7 = FloatVector.fromArray(F, acc, c + 7 * w), b7 = FloatVector.fromArray(F, acc, c + 7 * w + L);
        for (int k = 0, so = pair, xi = xo; k < n; k++, so += w, xi += 8) {
            FloatVector w0 = FloatVector.fromArray(F, s, so), w1 = FloatVector.fromArray(F, s, so + L);
            FloatVector y = FloatVector.broadcast(F, xt[xi]);
            a0 = w0.fma(y, a0);
            b0 = w1.fma(y, b0);
            y = FloatVector.broadcast(F, xt[xi + 1]);
            a1 = w0.fma(y, a1);
            b1 = w1.fma(y, b1);
            y = FloatVector.broadcast(F, xt[xi + 2]);
            a2 = w0.fma(y, a2);
            b2 = w1.fma(y, b2);
            y = FloatVector.broadcast(F, xt[xi + 3]);
            a3 = w0.fma(y, a3);
            b3 = w1.fma(y, b3);
            y = FloatVector.broadcast(F, xt[xi + 4]);
            a4 = w0.fma(y, a4);
            b4 = w1.fma(y, b4);
            y = FloatVector.broadcast(F, xt[xi + 5]);
            a5 = w0.fma(y, a5);
            b5 = w1.fma(y, b5);
            y = FloatVector.broadcast(F, xt[xi + 6]);
            a6 = w0.fma(y, a6);
            b6 = w1.fma(y, b6);
            y = FloatVector.broadcast(F, xt[xi + 7]);
            a7 = w0.fma(y, a7);
            b7 = w1.fma(y, b7);
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
        a1.intoArray(acc, c + w);
        b1.intoArray(acc, c + w + L);
        a2.intoArray(acc, c + 2 * w);
        b2.intoArray(acc, c + 2 * w + L);
        a3.intoArray(acc, c + 3 * w);
        b3.intoArray(acc, c + 3 * w + L);
        a4.intoArray(acc, c + 4 * w);
        b4.intoArray(acc, c + 4 * w + L);
        a5.intoArray(acc, c + 5 * w);
        b5.intoArray(acc, c + 5 * w + L);
        a6.intoArray(acc, c + 6 * w);
        b6.intoArray(acc, c + 6 * w + L);
        a7.intoArray(acc, c + 7 * w);
        b7.intoArray(acc, c + 7 * w + L);
    }

    /** 2 lane groups x 5 tokens, for 16-register machines ({@link #SIXTEEN_REGISTERS}): 2 loads and 5 broadcasts per 10 FMAs. */
    private static void k2x5(float[] s, int w, int pair, float[] xt, int xo, int t, int n, float[] acc) {
        int c = t * w + pair; // acc of token t, lane group pair; + w per token, + L for the second group
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        FloatVector a1 = FloatVector.fromArray(F, acc, c + w), b1 = FloatVector.fromArray(F, acc, c + w + L);
        FloatVector a2 = FloatVector.fromArray(F, acc, c + 2 * w), b2 = FloatVector.fromArray(F, acc, c + 2 * w + L);
        FloatVector a3 = FloatVector.fromArray(F, acc, c + 3 * w), b3 = FloatVector.fromArray(F, acc, c + 3 * w + L);
        FloatVector a4 = FloatVector.fromArray(F, acc, c + 4 * w), b4 = FloatVector.fromArray(F, acc, c + 4 * w + L);
        for (int k = 0, so = pair, xi = xo; k < n; k++, so += w, xi += 5) {
            FloatVector w0 = FloatVector.fromArray(F, s, so), w1 = FloatVector.fromArray(F, s, so + L);
            FloatVector y = FloatVector.broadcast(F, xt[xi]);
            a0 = w0.fma(y, a0);
            b0 = w1.fma(y, b0);
            y = FloatVector.broadcast(F, xt[xi + 1]);
            a1 = w0.fma(y, a1);
            b1 = w1.fma(y, b1);
            y = FloatVector.broadcast(F, xt[xi + 2]);
            a2 = w0.fma(y, a2);
            b2 = w1.fma(y, b2);
            y = FloatVector.broadcast(F, xt[xi + 3]);
            a3 = w0.fma(y, a3);
            b3 = w1.fma(y, b3);
            y = FloatVector.broadcast(F, xt[xi + 4]);
            a4 = w0.fma(y, a4);
            b4 = w1.fma(y, b4);
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
        a1.intoArray(acc, c + w);
        b1.intoArray(acc, c + w + L);
        a2.intoArray(acc, c + 2 * w);
        b2.intoArray(acc, c + 2 * w + L);
        a3.intoArray(acc, c + 3 * w);
        b3.intoArray(acc, c + 3 * w + L);
        a4.intoArray(acc, c + 4 * w);
        b4.intoArray(acc, c + 4 * w + L);
    }

    /** 2 lane groups x 4 tokens: the rest of a batch after 12- or 5-token tiles (and all of batch 16 with 16 registers). */
    private static void k2x4(float[] s, int w, int pair, float[] xt, int xo, int t, int n, float[] acc) {
        int c = t * w + pair; // acc of token t, lane group pair; + w per token, + L for the second group
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        FloatVector a1 = FloatVector.fromArray(F, acc, c + w), b1 = FloatVector.fromArray(F, acc, c + w + L);
        FloatVector a2 = FloatVector.fromArray(F, acc, c + 2 * w), b2 = FloatVector.fromArray(F, acc, c + 2 * w + L);
        FloatVector a3 = FloatVector.fromArray(F, acc, c + 3 * w), b3 = FloatVector.fromArray(F, acc, c + 3 * w + L);
        for (int k = 0, so = pair, xi = xo; k < n; k++, so += w, xi += 4) {
            FloatVector w0 = FloatVector.fromArray(F, s, so), w1 = FloatVector.fromArray(F, s, so + L);
            FloatVector y = FloatVector.broadcast(F, xt[xi]);
            a0 = w0.fma(y, a0);
            b0 = w1.fma(y, b0);
            y = FloatVector.broadcast(F, xt[xi + 1]);
            a1 = w0.fma(y, a1);
            b1 = w1.fma(y, b1);
            y = FloatVector.broadcast(F, xt[xi + 2]);
            a2 = w0.fma(y, a2);
            b2 = w1.fma(y, b2);
            y = FloatVector.broadcast(F, xt[xi + 3]);
            a3 = w0.fma(y, a3);
            b3 = w1.fma(y, b3);
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
        a1.intoArray(acc, c + w);
        b1.intoArray(acc, c + w + L);
        a2.intoArray(acc, c + 2 * w);
        b2.intoArray(acc, c + 2 * w + L);
        a3.intoArray(acc, c + 3 * w);
        b3.intoArray(acc, c + 3 * w + L);
    }

    /** 2 lane groups x 1 token. */
    private static void k2x1(float[] s, int w, int pair, float[] xt, int xo, int t, int n, float[] acc) {
        int c = t * w + pair; // acc of token t, lane group pair; + w per token, + L for the second group
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        for (int k = 0, so = pair, xi = xo; k < n; k++, so += w, xi += 1) {
            FloatVector w0 = FloatVector.fromArray(F, s, so), w1 = FloatVector.fromArray(F, s, so + L);
            FloatVector y = FloatVector.broadcast(F, xt[xi]);
            a0 = w0.fma(y, a0);
            b0 = w1.fma(y, b0);
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
    }

    /**
     * Whether this copy's batched tiles skip the decode pass ({@link #i2x8}, {@link #n2x8} and the rest): int8 quants
     * (Q8_0, Q6_K, Q4_0 as int8) and Q4_K nibbles below {@link #FUSED_BELOW_BATCH} tokens, on a 32-register machine
     * (the nibble lookups need 16 lanes). With few tokens per weight, converting each weight in registers once per
     * token group cost less than writing the decoded slice and reading it back. Their tiles are whole super-groups, one
     * block at a time (4 KiB of int8 quants, 2 of nibbles): the first lane-group pair's pass reads the block's lines
     * from DRAM and the other three find them in L1. With whole-K slices the first pass ran at DRAM latency and the
     * others from L2, and half-super-group tiles left every other line to the other thread. The products and their
     * order are the decode pass's: bit-identical outputs.
     */
    static boolean fusesDecode(LaneRows p, int batch) {
        return batch < FUSED_BELOW_BATCH && !SIXTEEN_REGISTERS && (!p.nibbles() || (p.mins() != null && L == 16));
    }

    /**
     * Weights from DRAM, two threads, l1b's and smol135m's sizes, against the decode pass: Q8_0 1.5-1.9x as fast at
     * batch 4 and 1.15-1.3x at batch 8, but at batch 12 -16% to +19% and at batch 16 level to 24% slower; Q4_K 2.2-2.5x
     * at batch 4 and 1.7x at batch 8 (docs/BENCHMARKS.md, session 13).
     */
    static final int FUSED_BELOW_BATCH = 12;

    // Fused register tiles ({@link #fusesDecode}): as the k2x tiles, but each step converts the quants of lane groups
    // lane and lane + L of super-group sg at element k in registers to the decode pass's floats (int8: b2f(q) * d;
    // Q4_K: n * d - m), over blocks [from, to); the tile's tokens' activations and accumulators as there.

    /** {@link #k2x8} from the quants. */
    private static void i2x8(LaneRows p, int sg, int lane, int from, int to, float[] xt, int xo, float[] acc, int c, int w) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int run = p.run(), blocks = p.blocks(), cols = p.cols();
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        FloatVector a1 = FloatVector.fromArray(F, acc, c + w), b1 = FloatVector.fromArray(F, acc, c + w + L);
        FloatVector a2 = FloatVector.fromArray(F, acc, c + 2 * w), b2 = FloatVector.fromArray(F, acc, c + 2 * w + L);
        FloatVector a3 = FloatVector.fromArray(F, acc, c + 3 * w), b3 = FloatVector.fromArray(F, acc, c + 3 * w + L);
        FloatVector a4 = FloatVector.fromArray(F, acc, c + 4 * w), b4 = FloatVector.fromArray(F, acc, c + 4 * w + L);
        FloatVector a5 = FloatVector.fromArray(F, acc, c + 5 * w), b5 = FloatVector.fromArray(F, acc, c + 5 * w + L);
        FloatVector a6 = FloatVector.fromArray(F, acc, c + 6 * w), b6 = FloatVector.fromArray(F, acc, c + 6 * w + L);
        FloatVector a7 = FloatVector.fromArray(F, acc, c + 7 * w), b7 = FloatVector.fromArray(F, acc, c + 7 * w + L);
        for (int b = from, xi = xo; b < to; b++) {
            int o = (sg * blocks + b) * 32 * W + lane;
            for (int r0 = 0; r0 < 32; r0 += run) { // scale runs of this block (one, or two for Q6_K)
                int sr = (sg * cols + 32 * b + r0) / run * W + lane;
                FloatVector d0 = FloatVector.fromArray(F, d, sr), d1 = FloatVector.fromArray(F, d, sr + L);
                for (int k = 0; k < run; k++, o += W, xi += 8) {
                    FloatVector w0 = Dequant.b2f(q, o).mul(d0), w1 = Dequant.b2f(q, o + L).mul(d1);
                    FloatVector y = FloatVector.broadcast(F, xt[xi]);
                    a0 = w0.fma(y, a0);
                    b0 = w1.fma(y, b0);
                    y = FloatVector.broadcast(F, xt[xi + 1]);
                    a1 = w0.fma(y, a1);
                    b1 = w1.fma(y, b1);
                    y = FloatVector.broadcast(F, xt[xi + 2]);
                    a2 = w0.fma(y, a2);
                    b2 = w1.fma(y, b2);
                    y = FloatVector.broadcast(F, xt[xi + 3]);
                    a3 = w0.fma(y, a3);
                    b3 = w1.fma(y, b3);
                    y = FloatVector.broadcast(F, xt[xi + 4]);
                    a4 = w0.fma(y, a4);
                    b4 = w1.fma(y, b4);
                    y = FloatVector.broadcast(F, xt[xi + 5]);
                    a5 = w0.fma(y, a5);
                    b5 = w1.fma(y, b5);
                    y = FloatVector.broadcast(F, xt[xi + 6]);
                    a6 = w0.fma(y, a6);
                    b6 = w1.fma(y, b6);
                    y = FloatVector.broadcast(F, xt[xi + 7]);
                    a7 = w0.fma(y, a7);
                    b7 = w1.fma(y, b7);
                }
            }
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
        a1.intoArray(acc, c + w);
        b1.intoArray(acc, c + w + L);
        a2.intoArray(acc, c + 2 * w);
        b2.intoArray(acc, c + 2 * w + L);
        a3.intoArray(acc, c + 3 * w);
        b3.intoArray(acc, c + 3 * w + L);
        a4.intoArray(acc, c + 4 * w);
        b4.intoArray(acc, c + 4 * w + L);
        a5.intoArray(acc, c + 5 * w);
        b5.intoArray(acc, c + 5 * w + L);
        a6.intoArray(acc, c + 6 * w);
        b6.intoArray(acc, c + 6 * w + L);
        a7.intoArray(acc, c + 7 * w);
        b7.intoArray(acc, c + 7 * w + L);
    }

    /** {@link #k2x4} from the quants. */
    private static void i2x4(LaneRows p, int sg, int lane, int from, int to, float[] xt, int xo, float[] acc, int c, int w) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int run = p.run(), blocks = p.blocks(), cols = p.cols();
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        FloatVector a1 = FloatVector.fromArray(F, acc, c + w), b1 = FloatVector.fromArray(F, acc, c + w + L);
        FloatVector a2 = FloatVector.fromArray(F, acc, c + 2 * w), b2 = FloatVector.fromArray(F, acc, c + 2 * w + L);
        FloatVector a3 = FloatVector.fromArray(F, acc, c + 3 * w), b3 = FloatVector.fromArray(F, acc, c + 3 * w + L);
        for (int b = from, xi = xo; b < to; b++) {
            int o = (sg * blocks + b) * 32 * W + lane;
            for (int r0 = 0; r0 < 32; r0 += run) { // scale runs of this block (one, or two for Q6_K)
                int sr = (sg * cols + 32 * b + r0) / run * W + lane;
                FloatVector d0 = FloatVector.fromArray(F, d, sr), d1 = FloatVector.fromArray(F, d, sr + L);
                for (int k = 0; k < run; k++, o += W, xi += 4) {
                    FloatVector w0 = Dequant.b2f(q, o).mul(d0), w1 = Dequant.b2f(q, o + L).mul(d1);
                    FloatVector y = FloatVector.broadcast(F, xt[xi]);
                    a0 = w0.fma(y, a0);
                    b0 = w1.fma(y, b0);
                    y = FloatVector.broadcast(F, xt[xi + 1]);
                    a1 = w0.fma(y, a1);
                    b1 = w1.fma(y, b1);
                    y = FloatVector.broadcast(F, xt[xi + 2]);
                    a2 = w0.fma(y, a2);
                    b2 = w1.fma(y, b2);
                    y = FloatVector.broadcast(F, xt[xi + 3]);
                    a3 = w0.fma(y, a3);
                    b3 = w1.fma(y, b3);
                }
            }
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
        a1.intoArray(acc, c + w);
        b1.intoArray(acc, c + w + L);
        a2.intoArray(acc, c + 2 * w);
        b2.intoArray(acc, c + 2 * w + L);
        a3.intoArray(acc, c + 3 * w);
        b3.intoArray(acc, c + 3 * w + L);
    }

    /** {@link #k2x1} from the quants. */
    private static void i2x1(LaneRows p, int sg, int lane, int from, int to, float[] xt, int xo, float[] acc, int c, int w) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int run = p.run(), blocks = p.blocks(), cols = p.cols();
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        for (int b = from, xi = xo; b < to; b++) {
            int o = (sg * blocks + b) * 32 * W + lane;
            for (int r0 = 0; r0 < 32; r0 += run) { // scale runs of this block (one, or two for Q6_K)
                int sr = (sg * cols + 32 * b + r0) / run * W + lane;
                FloatVector d0 = FloatVector.fromArray(F, d, sr), d1 = FloatVector.fromArray(F, d, sr + L);
                for (int k = 0; k < run; k++, o += W, xi += 1) {
                    FloatVector w0 = Dequant.b2f(q, o).mul(d0), w1 = Dequant.b2f(q, o + L).mul(d1);
                    FloatVector y = FloatVector.broadcast(F, xt[xi]);
                    a0 = w0.fma(y, a0);
                    b0 = w1.fma(y, b0);
                }
            }
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
    }

    /** {@link #k2x8} from Q4_K nibbles. */
    private static void n2x8(LaneRows p, int sg, int lane, int from, int to, float[] xt, int xo, float[] acc, int c, int w) {
        byte[] q = p.quants();
        float[] d = p.scales(), mn = p.mins();
        int blocks = p.blocks(), pair = lane / (2 * L);
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        FloatVector a1 = FloatVector.fromArray(F, acc, c + w), b1 = FloatVector.fromArray(F, acc, c + w + L);
        FloatVector a2 = FloatVector.fromArray(F, acc, c + 2 * w), b2 = FloatVector.fromArray(F, acc, c + 2 * w + L);
        FloatVector a3 = FloatVector.fromArray(F, acc, c + 3 * w), b3 = FloatVector.fromArray(F, acc, c + 3 * w + L);
        FloatVector a4 = FloatVector.fromArray(F, acc, c + 4 * w), b4 = FloatVector.fromArray(F, acc, c + 4 * w + L);
        FloatVector a5 = FloatVector.fromArray(F, acc, c + 5 * w), b5 = FloatVector.fromArray(F, acc, c + 5 * w + L);
        FloatVector a6 = FloatVector.fromArray(F, acc, c + 6 * w), b6 = FloatVector.fromArray(F, acc, c + 6 * w + L);
        FloatVector a7 = FloatVector.fromArray(F, acc, c + 7 * w), b7 = FloatVector.fromArray(F, acc, c + 7 * w + L);
        for (int b = from, xi = xo; b < to; b++) {
            int sgb = sg * blocks + b, so = sgb * W + lane;
            FloatVector dl = FloatVector.fromArray(F, d, so), dh = FloatVector.fromArray(F, d, so + L);
            FloatVector ml = FloatVector.fromArray(F, mn, so), mh = FloatVector.fromArray(F, mn, so + L);
            for (int k = 0; k < 32; k++, xi += 8) {
                IntVector u = Dequant.u2i(q, LaneRows.nibbleOffset(sgb, k, pair, L));
                FloatVector w0 = u.selectFrom(NIBBLES_0_15).reinterpretAsFloats().mul(dl).sub(ml);
                FloatVector w1 = u.lanewise(LSHR, 4).selectFrom(NIBBLES_0_15).reinterpretAsFloats().mul(dh).sub(mh);
                FloatVector y = FloatVector.broadcast(F, xt[xi]);
                a0 = w0.fma(y, a0);
                b0 = w1.fma(y, b0);
                y = FloatVector.broadcast(F, xt[xi + 1]);
                a1 = w0.fma(y, a1);
                b1 = w1.fma(y, b1);
                y = FloatVector.broadcast(F, xt[xi + 2]);
                a2 = w0.fma(y, a2);
                b2 = w1.fma(y, b2);
                y = FloatVector.broadcast(F, xt[xi + 3]);
                a3 = w0.fma(y, a3);
                b3 = w1.fma(y, b3);
                y = FloatVector.broadcast(F, xt[xi + 4]);
                a4 = w0.fma(y, a4);
                b4 = w1.fma(y, b4);
                y = FloatVector.broadcast(F, xt[xi + 5]);
                a5 = w0.fma(y, a5);
                b5 = w1.fma(y, b5);
                y = FloatVector.broadcast(F, xt[xi + 6]);
                a6 = w0.fma(y, a6);
                b6 = w1.fma(y, b6);
                y = FloatVector.broadcast(F, xt[xi + 7]);
                a7 = w0.fma(y, a7);
                b7 = w1.fma(y, b7);
            }
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
        a1.intoArray(acc, c + w);
        b1.intoArray(acc, c + w + L);
        a2.intoArray(acc, c + 2 * w);
        b2.intoArray(acc, c + 2 * w + L);
        a3.intoArray(acc, c + 3 * w);
        b3.intoArray(acc, c + 3 * w + L);
        a4.intoArray(acc, c + 4 * w);
        b4.intoArray(acc, c + 4 * w + L);
        a5.intoArray(acc, c + 5 * w);
        b5.intoArray(acc, c + 5 * w + L);
        a6.intoArray(acc, c + 6 * w);
        b6.intoArray(acc, c + 6 * w + L);
        a7.intoArray(acc, c + 7 * w);
        b7.intoArray(acc, c + 7 * w + L);
    }

    /** {@link #k2x4} from Q4_K nibbles. */
    private static void n2x4(LaneRows p, int sg, int lane, int from, int to, float[] xt, int xo, float[] acc, int c, int w) {
        byte[] q = p.quants();
        float[] d = p.scales(), mn = p.mins();
        int blocks = p.blocks(), pair = lane / (2 * L);
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        FloatVector a1 = FloatVector.fromArray(F, acc, c + w), b1 = FloatVector.fromArray(F, acc, c + w + L);
        FloatVector a2 = FloatVector.fromArray(F, acc, c + 2 * w), b2 = FloatVector.fromArray(F, acc, c + 2 * w + L);
        FloatVector a3 = FloatVector.fromArray(F, acc, c + 3 * w), b3 = FloatVector.fromArray(F, acc, c + 3 * w + L);
        for (int b = from, xi = xo; b < to; b++) {
            int sgb = sg * blocks + b, so = sgb * W + lane;
            FloatVector dl = FloatVector.fromArray(F, d, so), dh = FloatVector.fromArray(F, d, so + L);
            FloatVector ml = FloatVector.fromArray(F, mn, so), mh = FloatVector.fromArray(F, mn, so + L);
            for (int k = 0; k < 32; k++, xi += 4) {
                IntVector u = Dequant.u2i(q, LaneRows.nibbleOffset(sgb, k, pair, L));
                FloatVector w0 = u.selectFrom(NIBBLES_0_15).reinterpretAsFloats().mul(dl).sub(ml);
                FloatVector w1 = u.lanewise(LSHR, 4).selectFrom(NIBBLES_0_15).reinterpretAsFloats().mul(dh).sub(mh);
                FloatVector y = FloatVector.broadcast(F, xt[xi]);
                a0 = w0.fma(y, a0);
                b0 = w1.fma(y, b0);
                y = FloatVector.broadcast(F, xt[xi + 1]);
                a1 = w0.fma(y, a1);
                b1 = w1.fma(y, b1);
                y = FloatVector.broadcast(F, xt[xi + 2]);
                a2 = w0.fma(y, a2);
                b2 = w1.fma(y, b2);
                y = FloatVector.broadcast(F, xt[xi + 3]);
                a3 = w0.fma(y, a3);
                b3 = w1.fma(y, b3);
            }
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
        a1.intoArray(acc, c + w);
        b1.intoArray(acc, c + w + L);
        a2.intoArray(acc, c + 2 * w);
        b2.intoArray(acc, c + 2 * w + L);
        a3.intoArray(acc, c + 3 * w);
        b3.intoArray(acc, c + 3 * w + L);
    }

    /** {@link #k2x1} from Q4_K nibbles. */
    private static void n2x1(LaneRows p, int sg, int lane, int from, int to, float[] xt, int xo, float[] acc, int c, int w) {
        byte[] q = p.quants();
        float[] d = p.scales(), mn = p.mins();
        int blocks = p.blocks(), pair = lane / (2 * L);
        FloatVector a0 = FloatVector.fromArray(F, acc, c), b0 = FloatVector.fromArray(F, acc, c + L);
        for (int b = from, xi = xo; b < to; b++) {
            int sgb = sg * blocks + b, so = sgb * W + lane;
            FloatVector dl = FloatVector.fromArray(F, d, so), dh = FloatVector.fromArray(F, d, so + L);
            FloatVector ml = FloatVector.fromArray(F, mn, so), mh = FloatVector.fromArray(F, mn, so + L);
            for (int k = 0; k < 32; k++, xi += 1) {
                IntVector u = Dequant.u2i(q, LaneRows.nibbleOffset(sgb, k, pair, L));
                FloatVector w0 = u.selectFrom(NIBBLES_0_15).reinterpretAsFloats().mul(dl).sub(ml);
                FloatVector w1 = u.lanewise(LSHR, 4).selectFrom(NIBBLES_0_15).reinterpretAsFloats().mul(dh).sub(mh);
                FloatVector y = FloatVector.broadcast(F, xt[xi]);
                a0 = w0.fma(y, a0);
                b0 = w1.fma(y, b0);
            }
        }
        a0.intoArray(acc, c);
        b0.intoArray(acc, c + L);
    }
}
