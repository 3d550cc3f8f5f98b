package io.conduit.core.kernels;

import io.conduit.core.tensor.LaneRows;
import io.conduit.core.tensor.WeightMatrix;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * out[t][r] = W[r] . x[t] for a batch of activation rows: the projection every layer is made of.
 *
 * <p><b>Q8_0, Q4_0, Q4_K and Q6_K</b> go to {@link LaneMatMul}, over a copy made once per matrix with one weight row
 * per vector lane ({@link LaneRows}): at batch 1-3 one stream per 128 rows feeds eight FMA chains; batched, a decoded
 * K slice of 64 rows meets broadcast activations in 2-group x 12-token register tiles, with no reductions at all.
 *
 * <p><b>Float types</b>, and quantized matrices whose copy did not fit the heap: each thread takes tiles of {@value
 * #TILE} weight rows ({@value #WIDE_TILE} from batch {@value #WIDE_BATCH}), decodes the tile once into floats and runs
 * register-blocked dot-product kernels (4 rows x 4 tokens; 8 x 3 from batch 32) over every activation row; below a
 * batch of 4, rows are read from the file layout.
 *
 * <p><b>Batch invariance.</b> Every (row, token) product is computed by one fixed recipe per matrix, whichever kernel
 * and whatever batch it lands in, so a sequence's logits are bit-identical whether it runs alone or batched with
 * others. Lane copies: {@code acc = 0; for k = 0..K-1: acc = fma(w[k], x[k], acc)}. The dot-product kernels: {@code
 * acc = 0; for k in steps of L: acc = fma(w[k..k+L), x[k..k+L), acc)}, then a fixed butterfly sum of the lanes
 * (lanewise adds only, so the interpreter, C1 and C2 agree), then the scalar tail in order. The dequantized floats
 * are exactly the codec's in both.
 */
public final class MatMul {
    static final int TILE = 4;
    /** Rows per tile for batches of {@link #WIDE_BATCH} and more (8x3 kernel). */
    static final int WIDE_TILE = 8;
    /** From this batch on the 8x3 kernel (3 activation loads per 24 FMAs) beats two 4x4 passes. */
    static final int WIDE_BATCH = 32;
    private static final VectorSpecies<Float> F = Dequant.F;
    private static final int L = Dequant.L;
    // Butterfly partners as constants (one static final each) so C2 emits fixed permutes.
    private static final VectorShuffle<Float> X1 = VectorShuffle.fromOp(F, lane -> lane ^ 1);
    private static final VectorShuffle<Float> X2 = VectorShuffle.fromOp(F, lane -> lane ^ 2);
    private static final VectorShuffle<Float> X4 = VectorShuffle.fromOp(F, lane -> lane ^ (4 % L));
    private static final VectorShuffle<Float> X8 = VectorShuffle.fromOp(F, lane -> lane ^ (8 % L));
    private static final ThreadLocal<float[]> ACC = ThreadLocal.withInitial(() -> new float[24 * L]);
    /** Off only in tests, to cover the kernels that matrices whose lane copy does not fit the heap fall back to. */
    static volatile boolean laneCopies = true;
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private MatMul() {
    }

    /**
     * @param x   {@code batch} rows of {@code w.cols()} activations, row-major
     * @param out {@code batch} rows of {@code w.rows()} outputs, row-major (overwritten)
     */
    public static void matmul(WeightMatrix w, float[] x, int batch, float[] out) {
        matmul(new WeightMatrix[]{w}, x, batch, new float[][]{out});
    }

    /**
     * Several projections of the same input in one parallel pass (Q/K/V, gate/up): one fork-join per group
     * instead of one per matrix, which matters at batch 1 where each matrix takes only tens of microseconds.
     * Results are exactly those of separate {@link #matmul(WeightMatrix, float[], int, float[])} calls.
     */
    public static void matmul(WeightMatrix[] ws, float[] x, int batch, float[][] outs) {
        int cols = ws[0].cols();
        for (WeightMatrix w : ws) {
            if (w.cols() != cols) throw new IllegalArgumentException("matrices of one group must share their input width");
        }
        if (x.length < (long) batch * cols) throw new IllegalArgumentException("x holds fewer than batch rows");
        LaneRows[] lanes = laneRows(ws);
        if (lanes != null) {
            LaneMatMul.matmul(lanes, x, batch, outs);
            return;
        }
        if (ws.length > 1 && anyLaneRows(ws)) {
            // A matrix's recipe follows its copy: run each on its own rather than mixing recipes in one pass.
            for (int i = 0; i < ws.length; i++) matmul(new WeightMatrix[]{ws[i]}, x, batch, new float[][]{outs[i]});
            return;
        }
        // Narrow tiles below WIDE_BATCH: with 8-row tiles batch 4 measured ~30% slower (less overlap of the
        // tile's decoding with its FMAs); from WIDE_BATCH on, 8-row tiles feed the 8x3 kernel.
        int tr = batch >= WIDE_BATCH ? WIDE_TILE : TILE;
        int[] firstTile = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) firstTile[i + 1] = firstTile[i] + (ws[i].rows() + tr - 1) / tr;
        int tiles = firstTile[ws.length];
        if (batch < 4 && ws.length > 1 && !sameType(ws)) {
            // The file-layout decode kernels take one type per pass; a mixed group runs one pass per matrix rather
            // than falling back to the scratch tiles. Same results either way.
            for (int i = 0; i < ws.length; i++) matmul(new WeightMatrix[]{ws[i]}, x, batch, new float[][]{outs[i]});
            return;
        }
        if (batch < 4 && (Dequant.fused(ws[0].type()) || Dequant.fusedK(ws[0].type()))) { // one type (above)
            // Decode without a lane copy (too big for the heap, or no lane kernel for this vector length): each row read once
            // from the file layout straight into its FMA chain, one method per type so the JIT compiles (and profiles)
            // each on its own: sharing one method between Q8_0 and Q4_0 models in a JVM measured up to 2.5x slower
            // after the second type showed up.
            switch (ws[0].type()) {
                case Q8_0 -> Parallel.forRange(tiles * TILE, 8, (from, to) -> decodeQ8_0(ws, firstTile, from, to, x, batch, outs));
                case Q4_0 -> Parallel.forRange(tiles * TILE, 8, (from, to) -> decodeQ4_0(ws, firstTile, from, to, x, batch, outs));
                case Q4_K -> Parallel.forRange(tiles * tr, 8, (from, to) -> decodeQ4_K(ws, firstTile, tr, from, to, x, batch, outs));
                default -> Parallel.forRange(tiles * tr, 8, (from, to) -> decodeQ6_K(ws, firstTile, tr, from, to, x, batch, outs));
            }
            return;
        }
        // Rows of the scratch and of the activations sit an odd number of cache lines apart: at a stride of
        // 4 KiB (K = 1024, 2048, ...) every row of a tile maps to the same L1 set. When the scratch and the
        // activations also alias each other, the 8x3 kernel's 11 streams thrash the 8 ways (a microbenchmark: 42-47
        // vs 64-87 GFLOP/s per core); the engine's arrays usually land apart, so this guards a cliff rather than
        // adding speed (no end-to-end change measured).
        int stride = paddedStride(cols);
        float[] xp = padded(x, batch, cols, stride);
        Parallel.forRange(tiles, 2, (from, to) -> {
            float[] scratch = SCRATCH.get();
            if (scratch.length < WIDE_TILE * stride) {
                scratch = new float[WIDE_TILE * stride];
                SCRATCH.set(scratch);
            }
            int m = 0;
            for (int tile = from; tile < to; tile++) {
                while (tile >= firstTile[m + 1]) m++;
                WeightMatrix w = ws[m];
                int r0 = (tile - firstTile[m]) * tr;
                tile(w, r0, Math.min(tr, w.rows() - r0), xp, stride, batch, outs[m], scratch);
            }
        });
    }

    /**
     * Whether projections through {@code w} quantize their activations to int8 per block of 32 (a Q4_0 copy with the
     * int16 kernel, {@link NibbleInt16MatMul}) rather than multiplying them as floats.
     */
    public static boolean quantizesActivations(WeightMatrix w) {
        LaneRows[] ls = laneRows(new WeightMatrix[]{w});
        return ls != null && NibbleInt16MatMul.runs(ls);
    }

    /** The row-per-lane copies of the group's matrices (Q8_0, Q4_0, Q4_K, Q6_K), or null if any has none. */
    private static LaneRows[] laneRows(WeightMatrix[] ws) {
        if (!laneCopies) return null;
        LaneRows[] ls = new LaneRows[ws.length];
        for (int i = 0; i < ws.length; i++) {
            if (!LaneRows.supports(ws[i].type())) return null;
            ls[i] = ws[i].lanes();
            if (ls[i] == null || !LaneMatMul.runs(ls[i])) return null;
        }
        return ls;
    }

    private static boolean anyLaneRows(WeightMatrix[] ws) {
        for (WeightMatrix w : ws) {
            if (laneRows(new WeightMatrix[]{w}) != null) return true;
        }
        return false;
    }

    private static boolean sameType(WeightMatrix[] ws) {
        for (WeightMatrix w : ws) {
            if (w.type() != ws[0].type()) return false;
        }
        return true;
    }

    /** Rows [from, to) of a Q4_K group, numbered tile by tile ({@code tr} slots per tile; slots past a matrix skipped). */
    private static void decodeQ4_K(WeightMatrix[] ws, int[] firstTile, int tr, int from, int to, float[] x, int batch,
                                   float[][] outs) {
        float[] acc = ACC.get();
        int m = 0;
        for (int slot = from; slot < to; slot++) {
            while (slot >= firstTile[m + 1] * tr) m++;
            WeightMatrix w = ws[m];
            int r = slot - firstTile[m] * tr;
            if (r >= w.rows()) continue;
            for (int t = 0; t < batch; t++) {
                Dequant.q4_kx1(w.segment(), w.rowOffset(r), w.cols(), x, t * w.cols(), acc);
                outs[m][t * w.rows() + r] = sum(FloatVector.fromArray(F, acc, 0));
            }
        }
    }

    private static void decodeQ6_K(WeightMatrix[] ws, int[] firstTile, int tr, int from, int to, float[] x, int batch,
                                   float[][] outs) {
        float[] acc = ACC.get();
        int m = 0;
        for (int slot = from; slot < to; slot++) {
            while (slot >= firstTile[m + 1] * tr) m++;
            WeightMatrix w = ws[m];
            int r = slot - firstTile[m] * tr;
            if (r >= w.rows()) continue;
            for (int t = 0; t < batch; t++) {
                Dequant.q6_kx1(w.segment(), w.rowOffset(r), w.cols(), x, t * w.cols(), acc);
                outs[m][t * w.rows() + r] = sum(FloatVector.fromArray(F, acc, 0));
            }
        }
    }

    /** Rows [from, to) of the group, numbered tile by tile (slots past a matrix's last row are skipped). */
    private static void decodeQ8_0(WeightMatrix[] ws, int[] firstTile, int from, int to, float[] x, int batch,
                                   float[][] outs) {
        float[] acc = ACC.get();
        int m = 0;
        for (int slot = from; slot < to; slot++) {
            while (slot >= firstTile[m + 1] * TILE) m++;
            WeightMatrix w = ws[m];
            int r = slot - firstTile[m] * TILE;
            if (r >= w.rows()) continue;
            int cols = w.cols();
            for (int t = 0; t < batch; t++) {
                Dequant.q8_0x1(w.segment(), w.rowOffset(r), cols, x, t * cols, acc);
                outs[m][t * w.rows() + r] = sum(FloatVector.fromArray(F, acc, 0)); // whole blocks: no tail
            }
        }
    }

    private static void decodeQ4_0(WeightMatrix[] ws, int[] firstTile, int from, int to, float[] x, int batch,
                                   float[][] outs) {
        float[] acc = ACC.get();
        int m = 0;
        for (int slot = from; slot < to; slot++) {
            while (slot >= firstTile[m + 1] * TILE) m++;
            WeightMatrix w = ws[m];
            int r = slot - firstTile[m] * TILE;
            if (r >= w.rows()) continue;
            int cols = w.cols();
            for (int t = 0; t < batch; t++) {
                Dequant.q4_0x1(w.segment(), w.rowOffset(r), cols, x, t * cols, acc);
                outs[m][t * w.rows() + r] = sum(FloatVector.fromArray(F, acc, 0));
            }
        }
    }

    /**
     * One tile of {@code nr} rows from {@code r0} over the whole batch. Scratch rows and activation rows are
     * {@code sd} floats apart ({@link #paddedStride}); each product still runs over the row's {@code cols} values.
     */
    private static void tile(WeightMatrix w, int r0, int nr, float[] x, int sd, int batch, float[] out, float[] s) {
        int cols = w.cols();
        int rows = w.rows();
        for (int i = 0; i < nr; i++) Dequant.row(w, r0 + i, s, i * sd);
        int first = 0; // rows of the tile done by a register-blocked kernel
        if (nr == WIDE_TILE && batch >= WIDE_BATCH) {
            float[] acc = ACC.get();
            int nv = cols - cols % L;
            int t = 0;
            for (; t + 3 <= batch; t += 3) {
                k8x3(s, cols, sd, x, t, acc);
                finish(acc, 3, 8, s, 0, cols, sd, nv, x, t, out, rows, r0);
            }
            for (; t < batch; t++) {
                k8x1(s, cols, sd, x, t, acc);
                finish(acc, 1, 8, s, 0, cols, sd, nv, x, t, out, rows, r0);
            }
            first = WIDE_TILE;
        } else {
            for (; first + 4 <= nr; first += 4) {
                int t = 0;
                for (; t + 4 <= batch; t += 4) k4x4(s, first * sd, cols, sd, x, t, out, rows, r0 + first);
                for (; t < batch; t++) k4x1(s, first * sd, cols, sd, x, t, out, rows, r0 + first);
            }
        }
        for (int i = first; i < nr; i++) {
            for (int t = 0; t < batch; t++) out[t * rows + r0 + i] = dot(s, i * sd, x, t * sd, cols);
        }
    }

    /** Row stride for {@code cols} floats: whole 64-byte lines, an odd number of them (see the batched path). */
    static int paddedStride(int cols) {
        int lines = (cols + 15) / 16;
        return 16 * (lines % 2 == 0 ? lines + 1 : lines);
    }

    private static final ThreadLocal<float[]> PADDED_X = ThreadLocal.withInitial(() -> new float[0]);

    /** x's rows re-laid at {@code stride} (a per-thread buffer of the calling thread; the pool only reads it). */
    private static float[] padded(float[] x, int batch, int cols, int stride) {
        if (stride == cols) return x;
        float[] xp = PADDED_X.get();
        if (xp.length < batch * stride) {
            xp = new float[batch * stride];
            PADDED_X.set(xp);
        }
        for (int t = 0; t < batch; t++) System.arraycopy(x, t * cols, xp, t * stride, cols);
        return xp;
    }

    /** The fixed lane sum: butterfly of lanewise adds, lane 0 holds the total. */
    static float sum(FloatVector v) {
        if (L >= 16) v = v.add(v.rearrange(X8));
        if (L >= 8) v = v.add(v.rearrange(X4));
        v = v.add(v.rearrange(X2));
        v = v.add(v.rearrange(X1));
        return v.lane(0);
    }

    /** The recipe for one (row, token): vector FMA chain, butterfly, scalar tail. */
    static float dot(float[] w, int wOff, float[] x, int xOff, int n) {
        int nv = n - n % L;
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < nv; k += L) {
            acc = FloatVector.fromArray(F, w, wOff + k).fma(FloatVector.fromArray(F, x, xOff + k), acc);
        }
        float r = sum(acc);
        for (int k = nv; k < n; k++) r += w[wOff + k] * x[xOff + k];
        return r;
    }

    private static float tail(float[] w, int wOff, float[] x, int xOff, int nv, int n, float r) {
        for (int k = nv; k < n; k++) r += w[wOff + k] * x[xOff + k];
        return r;
    }

    /** 4 weight rows (scratch rows 0..3) x 1 activation row; four independent FMA chains hide latency. */
    private static void k4x1(float[] s, int so, int n, int sd, float[] x, int t, float[] out, int rows, int r0) {
        int nv = n - n % L;
        int w0 = so, w1 = so + sd, w2 = so + 2 * sd, w3 = so + 3 * sd, xo = t * sd;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < nv; k += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + k);
            a0 = FloatVector.fromArray(F, s, w0 + k).fma(xv, a0);
            a1 = FloatVector.fromArray(F, s, w1 + k).fma(xv, a1);
            a2 = FloatVector.fromArray(F, s, w2 + k).fma(xv, a2);
            a3 = FloatVector.fromArray(F, s, w3 + k).fma(xv, a3);
        }
        float[] acc = ACC.get();
        a0.intoArray(acc, 0);
        a1.intoArray(acc, L);
        a2.intoArray(acc, 2 * L);
        a3.intoArray(acc, 3 * L);
        finish(acc, 1, 4, s, so, n, sd, nv, x, t, out, rows, r0);
    }

    /** 4 weight rows x 4 activation rows: 16 accumulators, 8 loads per 16 FMAs. */
    private static void k4x4(float[] s, int so, int n, int sd, float[] x, int t, float[] out, int rows, int r0) {
        int nv = n - n % L;
        int w0 = so, w1 = so + sd, w2 = so + 2 * sd, w3 = so + 3 * sd;
        int x0 = t * sd, x1 = x0 + sd, x2 = x1 + sd, x3 = x2 + sd;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        for (int k = 0; k < nv; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, s, w0 + k);
            FloatVector v1 = FloatVector.fromArray(F, s, w1 + k);
            FloatVector v2 = FloatVector.fromArray(F, s, w2 + k);
            FloatVector v3 = FloatVector.fromArray(F, s, w3 + k);
            FloatVector xv = FloatVector.fromArray(F, x, x0 + k);
            a00 = v0.fma(xv, a00);
            a10 = v1.fma(xv, a10);
            a20 = v2.fma(xv, a20);
            a30 = v3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + k);
            a01 = v0.fma(xv, a01);
            a11 = v1.fma(xv, a11);
            a21 = v2.fma(xv, a21);
            a31 = v3.fma(xv, a31);
            xv = FloatVector.fromArray(F, x, x2 + k);
            a02 = v0.fma(xv, a02);
            a12 = v1.fma(xv, a12);
            a22 = v2.fma(xv, a22);
            a32 = v3.fma(xv, a32);
            xv = FloatVector.fromArray(F, x, x3 + k);
            a03 = v0.fma(xv, a03);
            a13 = v1.fma(xv, a13);
            a23 = v2.fma(xv, a23);
            a33 = v3.fma(xv, a33);
        }
        // Spill the accumulators and reduce them outside the hot method: inlining 16 reductions here would
        // push C2 past its inlining budget and leave vectors boxed.
        float[] acc = ACC.get();
        a00.intoArray(acc, 0);
        a10.intoArray(acc, L);
        a20.intoArray(acc, 2 * L);
        a30.intoArray(acc, 3 * L);
        a01.intoArray(acc, 4 * L);
        a11.intoArray(acc, 5 * L);
        a21.intoArray(acc, 6 * L);
        a31.intoArray(acc, 7 * L);
        a02.intoArray(acc, 8 * L);
        a12.intoArray(acc, 9 * L);
        a22.intoArray(acc, 10 * L);
        a32.intoArray(acc, 11 * L);
        a03.intoArray(acc, 12 * L);
        a13.intoArray(acc, 13 * L);
        a23.intoArray(acc, 14 * L);
        a33.intoArray(acc, 15 * L);
        finish(acc, 4, 4, s, so, n, sd, nv, x, t, out, rows, r0);
    }

    /**
     * Reduces spilled accumulators (token-major, {@code tileRows} rows each, rows starting at scratch offset
     * {@code so}, {@code sd} apart) and adds the scalar tails.
     */
    private static void finish(float[] acc, int tokens, int tileRows, float[] s, int so, int n, int sd, int nv,
                               float[] x, int t, float[] out, int rows, int r0) {
        for (int j = 0; j < tokens; j++) {
            int xo = (t + j) * sd;
            int o = (t + j) * rows + r0;
            for (int i = 0; i < tileRows; i++) {
                out[o + i] = tail(s, so + i * sd, x, xo, nv, n, sum(FloatVector.fromArray(F, acc, (tileRows * j + i) * L)));
            }
        }
    }

    /** 8 weight rows (scratch rows 0..7) x 1 activation row: 8 independent chains. */
    private static void k8x1(float[] s, int n, int sd, float[] x, int t, float[] acc) {
        int nv = n - n % L, xo = t * sd;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z;
        for (int k = 0; k < nv; k += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + k);
            a0 = FloatVector.fromArray(F, s, 0 * sd + k).fma(xv, a0);
            a1 = FloatVector.fromArray(F, s, 1 * sd + k).fma(xv, a1);
            a2 = FloatVector.fromArray(F, s, 2 * sd + k).fma(xv, a2);
            a3 = FloatVector.fromArray(F, s, 3 * sd + k).fma(xv, a3);
            a4 = FloatVector.fromArray(F, s, 4 * sd + k).fma(xv, a4);
            a5 = FloatVector.fromArray(F, s, 5 * sd + k).fma(xv, a5);
            a6 = FloatVector.fromArray(F, s, 6 * sd + k).fma(xv, a6);
            a7 = FloatVector.fromArray(F, s, 7 * sd + k).fma(xv, a7);
        }
        a0.intoArray(acc, 0 * L);
        a1.intoArray(acc, 1 * L);
        a2.intoArray(acc, 2 * L);
        a3.intoArray(acc, 3 * L);
        a4.intoArray(acc, 4 * L);
        a5.intoArray(acc, 5 * L);
        a6.intoArray(acc, 6 * L);
        a7.intoArray(acc, 7 * L);
    }

    /**
     * 8 weight rows x 3 activation rows: 24 accumulators and 3 activation loads per 24 FMAs. For wide batches
     * the activations come from L2, and a 4x4 tile's 4 loads per 16 FMAs measured ~35% slower at batch 128.
     */
    private static void k8x3(float[] s, int n, int sd, float[] x, int t, float[] acc) {
        int nv = n - n % L;
        int x0 = t * sd, x1 = x0 + sd, x2 = x1 + sd;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a20 = z, a30 = z, a40 = z, a50 = z, a60 = z, a70 = z;
        FloatVector a01 = z, a11 = z, a21 = z, a31 = z, a41 = z, a51 = z, a61 = z, a71 = z;
        FloatVector a02 = z, a12 = z, a22 = z, a32 = z, a42 = z, a52 = z, a62 = z, a72 = z;
        for (int k = 0; k < nv; k += L) {
            FloatVector y0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector y1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector y2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector w0 = FloatVector.fromArray(F, s, 0 * sd + k);
            a00 = w0.fma(y0, a00);
            a01 = w0.fma(y1, a01);
            a02 = w0.fma(y2, a02);
            FloatVector w1 = FloatVector.fromArray(F, s, 1 * sd + k);
            a10 = w1.fma(y0, a10);
            a11 = w1.fma(y1, a11);
            a12 = w1.fma(y2, a12);
            FloatVector w2 = FloatVector.fromArray(F, s, 2 * sd + k);
            a20 = w2.fma(y0, a20);
            a21 = w2.fma(y1, a21);
            a22 = w2.fma(y2, a22);
            FloatVector w3 = FloatVector.fromArray(F, s, 3 * sd + k);
            a30 = w3.fma(y0, a30);
            a31 = w3.fma(y1, a31);
            a32 = w3.fma(y2, a32);
            FloatVector w4 = FloatVector.fromArray(F, s, 4 * sd + k);
            a40 = w4.fma(y0, a40);
            a41 = w4.fma(y1, a41);
            a42 = w4.fma(y2, a42);
            FloatVector w5 = FloatVector.fromArray(F, s, 5 * sd + k);
            a50 = w5.fma(y0, a50);
            a51 = w5.fma(y1, a51);
            a52 = w5.fma(y2, a52);
            FloatVector w6 = FloatVector.fromArray(F, s, 6 * sd + k);
            a60 = w6.fma(y0, a60);
            a61 = w6.fma(y1, a61);
            a62 = w6.fma(y2, a62);
            FloatVector w7 = FloatVector.fromArray(F, s, 7 * sd + k);
            a70 = w7.fma(y0, a70);
            a71 = w7.fma(y1, a71);
            a72 = w7.fma(y2, a72);
        }
        // Layout: token-major, then row (see finish).
        a00.intoArray(acc, 0 * L);
        a10.intoArray(acc, 1 * L);
        a20.intoArray(acc, 2 * L);
        a30.intoArray(acc, 3 * L);
        a40.intoArray(acc, 4 * L);
        a50.intoArray(acc, 5 * L);
        a60.intoArray(acc, 6 * L);
        a70.intoArray(acc, 7 * L);
        a01.intoArray(acc, 8 * L);
        a11.intoArray(acc, 9 * L);
        a21.intoArray(acc, 10 * L);
        a31.intoArray(acc, 11 * L);
        a41.intoArray(acc, 12 * L);
        a51.intoArray(acc, 13 * L);
        a61.intoArray(acc, 14 * L);
        a71.intoArray(acc, 15 * L);
        a02.intoArray(acc, 16 * L);
        a12.intoArray(acc, 17 * L);
        a22.intoArray(acc, 18 * L);
        a32.intoArray(acc, 19 * L);
        a42.intoArray(acc, 20 * L);
        a52.intoArray(acc, 21 * L);
        a62.intoArray(acc, 22 * L);
        a72.intoArray(acc, 23 * L);
    }

    /**
     * Scalar reference: each output is the codec's {@code dotReference} (double accumulation of the
     * dequantized weights times x), one (row, token) at a time. The definition the kernels are tested against.
     */
    public static void matmulReference(WeightMatrix w, float[] x, int batch, float[] out) {
        for (int t = 0; t < batch; t++) {
            for (int r = 0; r < w.rows(); r++) {
                out[t * w.rows() + r] = w.codec().dotReference(w.segment(), w.rowOffset(r), x, t * w.cols(), w.cols());
            }
        }
    }
}
