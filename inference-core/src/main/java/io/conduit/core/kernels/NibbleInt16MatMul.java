package io.conduit.core.kernels;

import io.conduit.core.tensor.LaneRows;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * The projection over Q4_0 nibble copies with int8 activations ({@link LaneRows.Q4Kernel#INT16}), llama.cpp's Q4_0 x
 * Q8_0 dot product in lanes. Each activation row is quantized per block of 32 ({@link QuantizedActivations}); one
 * output is then, whatever the batch,
 * <pre>
 *   acc = 0; for each block b: acc = fma((float) sum_k (n[k] - 8) * q[k], d_w[b] * d_x[b], acc)
 * </pre>
 * with {@code n} the weight's nibbles and {@code q} the activation's int8 values. The block sum is exact: |(n - 8) q|
 * is at most 8 x 127 and 32 of them fit a short, so a short vector of 2L lanes (two lane groups) sums them with a
 * multiply and an add that run at ~1.7x the lane rate of float FMAs (a Zen 5 core: 161-165 against 94 G lane-MACs/s),
 * with no conversion of the weight to a float. The {@code - 8} is taken out of the loop: lanes sum {@code n q} (which
 * may wrap) and lose {@code 8 sum q} once per block; the true value fits a short, so the wrapped difference is exact.
 *
 * <p>Layout: {@link LaneRows#nibbleOffset}. At element k the 2L bytes of lane-group pairs 2h and 2h + 1 sit side by
 * side, so one zero-extending load of them gives, in its low nibbles, groups 4h (lanes 0..L) and 4h + 2 (lanes L..2L),
 * and in its high nibbles groups 4h + 1 and 4h + 3.
 */
final class NibbleInt16MatMul {
    private static final VectorSpecies<Float> F = Dequant.F;
    private static final int L = Dequant.L;
    /** L shorts: one lane group's sums. */
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L));
    /** 2L shorts: two lane groups. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(32 * L));
    /** The 2L bytes those come from. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(16 * L));
    /** Rows per super-group, as a constant (see LaneMatMul.W). */
    private static final int W = LaneRows.GROUPS * L;
    /** Rows per batched tile: half a super-group, one load per element. */
    static final int TW = W / 2;
    /** Blocks per K slice of a batched tile: 16 KiB of nibbles at 16 lanes, re-read from L1 by each token group. */
    private static final int SLICE_BLOCKS = 16;
    private static final ThreadLocal<float[]> ONE = ThreadLocal.withInitial(() -> new float[W]);
    private static final ThreadLocal<float[]> ACC = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<short[]> SUMS = ThreadLocal.withInitial(() -> new short[8 * 4 * L]);
    private static final ThreadLocal<QuantizedActivations> ACTIVATIONS = ThreadLocal.withInitial(QuantizedActivations::new);

    private NibbleInt16MatMul() {
    }

    /** Whether a call over these copies runs here: all Q4_0 nibbles with int8 activations. */
    static boolean runs(LaneRows[] ps) {
        for (LaneRows p : ps) if (!p.quantizedActivations()) return false;
        return true;
    }

    /**
     * Tokens per register tile with {@code left} to go: 8 (16 short accumulators) with 32 vector registers, 4 with 16
     * (AVX2), then single tokens.
     */
    /**
     * Below this batch each token runs the batch-1 kernels over a super-group in turn, the later tokens finding its
     * nibbles in L2: the batched tiles (half super-groups, K slices of 16 blocks) read their weights from DRAM at
     * latency, and at batch 4 l1b decoded more slowly than at batch 1 (58-64 against 64 tok/s). Decode suite,
     * alternated, tok/s against tiles from batch 4: l1b batch 4 60-64 -> 87-89, batch 8 66-86 -> 97-105, batch 12
     * 75-89 -> 88-98; smol135m batch 4 264-398 -> 444-471; batch 16 level (docs/BENCHMARKS.md, session 13).
     */
    static final int PER_TOKEN_BELOW_BATCH = 16;

    static int tokenGroup(int left) {
        if (left >= 8 && !LaneMatMul.SIXTEEN_REGISTERS) return 8;
        return left >= 4 ? 4 : 1;
    }

    /** outs[i] = ws[i] x for {@code batch} rows of x; all copies share {@code cols}. */
    static void matmul(LaneRows[] ps, float[] x, int batch, float[][] outs) {
        int cols = ps[0].cols();
        QuantizedActivations a = ACTIVATIONS.get();
        a.quantize(x, batch, cols, batch >= PER_TOKEN_BELOW_BATCH);
        short[] q = a.values();
        float[] d = a.scales();
        short[] bias = a.biases();
        int blocks = cols / 32;
        if (batch < PER_TOKEN_BELOW_BATCH) {
            int[] first = LaneMatMul.firstTiles(ps, W);
            Parallel.forRange(first[ps.length], 1, (from, to) -> {
                float[] one = ONE.get();
                int m = 0;
                for (int i = from; i < to; i++) {
                    while (i >= first[m + 1]) m++;
                    LaneRows p = ps[m];
                    int sg = i - first[m];
                    boolean whole = sg * W + TW < p.rows();
                    for (int t = 0; t < batch; t++) {
                        if (whole) superGroup(p, sg, q, t * cols, d, bias, t * blocks, one);
                        else half(p, sg, 0, q, t * cols, d, bias, t * blocks, one);
                        System.arraycopy(one, 0, outs[m], t * p.rows() + sg * W, Math.min(whole ? W : TW, p.rows() - sg * W));
                    }
                }
            });
            return;
        }
        int[] first = LaneMatMul.firstTiles(ps, TW);
        Parallel.forEach(first[ps.length], (from, to) -> {
            float[] acc = ACC.get();
            if (acc.length < batch * TW) {
                acc = new float[batch * TW];
                ACC.set(acc);
            }
            int m = 0;
            for (int i = from; i < to; i++) {
                while (i >= first[m + 1]) m++;
                LaneRows p = ps[m];
                int r0 = (i - first[m]) * TW;
                tile(p, r0, q, d, bias, batch, acc);
                for (int t = 0; t < batch; t++) {
                    System.arraycopy(acc, t * TW, outs[m], t * p.rows() + r0, Math.min(TW, p.rows() - r0));
                }
            }
        });
    }

    // Conversions are written out at each call site, not behind helpers returning ShortVector or FloatVector: with the
    // helpers (a widening load, a short-to-float conversion) C2 compiled the calls on them without a receiver type and
    // the kernels ran on boxed vectors, batch 1 at 42 GFLOP/s on a Zen 5 core against 173 written out (as session 10
    // found for the nibble lookups, LaneMatMul).

    /**
     * Super-group {@code sg} times one quantized activation row (values from {@code xq[xOff]}, block scales and
     * biases from {@code [bOff]}): eight lane groups, four short sums per block. Results to out[0..8L).
     */
    static void superGroup(LaneRows p, int sg, short[] xq, int xOff, float[] xd, short[] xb, int bOff, float[] out) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int blocks = p.blocks();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int b = 0; b < blocks; b++) {
            ShortVector l0 = ShortVector.zero(S), h0 = l0, l1 = l0, h1 = l0; // l0: groups 0, 2; h0: 1, 3; l1/h1: + 4
            int qb = (sg * blocks + b) * 16 * W; // nibbleOffset(sg * blocks + b, 0, 0, L)
            int xk = xOff + 32 * b;
            for (int m = 0; m < 16; m++) {
                int qo = qb + m * W; // elements 2m (first 2L bytes of each half) and 2m + 1 (next 2L)
                ShortVector x = ShortVector.broadcast(S, xq[xk + 2 * m]);
                ShortVector u = (ShortVector) ByteVector.fromArray(B, q, qo).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                l0 = l0.add(u.and((short) 0x0F).mul(x));
                h0 = h0.add(u.lanewise(LSHR, 4).mul(x));
                u = (ShortVector) ByteVector.fromArray(B, q, qo + 4 * L).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                l1 = l1.add(u.and((short) 0x0F).mul(x));
                h1 = h1.add(u.lanewise(LSHR, 4).mul(x));
                x = ShortVector.broadcast(S, xq[xk + 2 * m + 1]);
                u = (ShortVector) ByteVector.fromArray(B, q, qo + 2 * L).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                l0 = l0.add(u.and((short) 0x0F).mul(x));
                h0 = h0.add(u.lanewise(LSHR, 4).mul(x));
                u = (ShortVector) ByteVector.fromArray(B, q, qo + 6 * L).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                l1 = l1.add(u.and((short) 0x0F).mul(x));
                h1 = h1.add(u.lanewise(LSHR, 4).mul(x));
            }
            short bias = xb[bOff + b];
            float dx = xd[bOff + b];
            int so = (sg * blocks + b) * W;
            l0 = l0.sub(bias);
            h0 = h0.sub(bias);
            l1 = l1.sub(bias);
            h1 = h1.sub(bias);
            a0 = ((FloatVector) l0.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.fromArray(F, d, so).mul(dx), a0);
            a1 = ((FloatVector) h0.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.fromArray(F, d, so + L).mul(dx), a1);
            a2 = ((FloatVector) l0.convertShape(VectorOperators.S2F, F, 1)).fma(FloatVector.fromArray(F, d, so + 2 * L).mul(dx), a2);
            a3 = ((FloatVector) h0.convertShape(VectorOperators.S2F, F, 1)).fma(FloatVector.fromArray(F, d, so + 3 * L).mul(dx), a3);
            a4 = ((FloatVector) l1.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.fromArray(F, d, so + 4 * L).mul(dx), a4);
            a5 = ((FloatVector) h1.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.fromArray(F, d, so + 5 * L).mul(dx), a5);
            a6 = ((FloatVector) l1.convertShape(VectorOperators.S2F, F, 1)).fma(FloatVector.fromArray(F, d, so + 6 * L).mul(dx), a6);
            a7 = ((FloatVector) h1.convertShape(VectorOperators.S2F, F, 1)).fma(FloatVector.fromArray(F, d, so + 7 * L).mul(dx), a7);
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

    /** Half {@code h} of super-group {@code sg} (lane groups 4h..4h + 3) times one activation row: out[0..4L). */
    static void half(LaneRows p, int sg, int h, short[] xq, int xOff, float[] xd, short[] xb, int bOff, float[] out) {
        byte[] q = p.quants();
        float[] d = p.scales();
        int blocks = p.blocks();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocks; b++) {
            ShortVector l0 = ShortVector.zero(S), h0 = l0;
            int qb = (sg * blocks + b) * 16 * W + h * 4 * L;
            int xk = xOff + 32 * b;
            for (int m = 0; m < 16; m++) {
                int qo = qb + m * W;
                ShortVector x = ShortVector.broadcast(S, xq[xk + 2 * m]);
                ShortVector u = (ShortVector) ByteVector.fromArray(B, q, qo).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                l0 = l0.add(u.and((short) 0x0F).mul(x));
                h0 = h0.add(u.lanewise(LSHR, 4).mul(x));
                x = ShortVector.broadcast(S, xq[xk + 2 * m + 1]);
                u = (ShortVector) ByteVector.fromArray(B, q, qo + 2 * L).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                l0 = l0.add(u.and((short) 0x0F).mul(x));
                h0 = h0.add(u.lanewise(LSHR, 4).mul(x));
            }
            short bias = xb[bOff + b];
            float dx = xd[bOff + b];
            int so = (sg * blocks + b) * W + h * 4 * L;
            l0 = l0.sub(bias);
            h0 = h0.sub(bias);
            a0 = ((FloatVector) l0.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.fromArray(F, d, so).mul(dx), a0);
            a1 = ((FloatVector) h0.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.fromArray(F, d, so + L).mul(dx), a1);
            a2 = ((FloatVector) l0.convertShape(VectorOperators.S2F, F, 1)).fma(FloatVector.fromArray(F, d, so + 2 * L).mul(dx), a2);
            a3 = ((FloatVector) h0.convertShape(VectorOperators.S2F, F, 1)).fma(FloatVector.fromArray(F, d, so + 3 * L).mul(dx), a3);
        }
        a0.intoArray(out, 0);
        a1.intoArray(out, L);
        a2.intoArray(out, 2 * L);
        a3.intoArray(out, 3 * L);
    }

    /**
     * Rows [r0, r0 + TW) of a copy over the whole batch: K slice by K slice, each slice's nibbles (16 KiB at 16 lanes)
     * read from L1 by every token group in turn. Accumulators in {@code acc} ([t][TW]), one block's sums added at a
     * time, in block order.
     */
    private static void tile(LaneRows p, int r0, short[] xq, float[] xd, short[] xb, int batch, float[] acc) {
        int cols = p.cols(), blocks = p.blocks(), sg = r0 / W, h = (r0 % W) / TW;
        java.util.Arrays.fill(acc, 0, batch * TW, 0f);
        short[] sums = SUMS.get();
        for (int b0 = 0; b0 < blocks; b0 += SLICE_BLOCKS) {
            int b1 = Math.min(blocks, b0 + SLICE_BLOCKS);
            for (int t = 0; t < batch; ) {
                int g = tokenGroup(batch - t);
                for (int b = b0; b < b1; b++) {
                    if (g == 8) block8(p, sg, h, b, xq, t * cols + 8 * 32 * b, xd, xb, t, acc, sums);
                    else if (g == 4) block4(p, sg, h, b, xq, t * cols + 4 * 32 * b, xd, xb, t, acc, sums);
                    else block1(p, sg, h, b, xq, t * cols + 32 * b, xd, xb, t, acc, sums);
                }
                t += g;
            }
        }
    }

    /**
     * The block sums of {@code tokens} tokens (from {@code sums}: token j's low nibbles' sums at [4L j], high at
     * [4L j + 2L], before the bias) added to their four lane groups' accumulators at acc[(t + j) TW..]. The sums come
     * through memory: passed as vectors to a method C2 did not inline (it sits after the hot loop), they were boxed, 16
     * allocations per call, and batch 16 ran at ~10 GFLOP/s.
     */
    private static void finish(short[] sums, int tokens, short[] xb, float[] xd, int blocks, int b, float[] d, int so,
                               float[] acc, int t) {
        for (int j = 0; j < tokens; j++) {
            int blk = (t + j) * blocks + b, o = (t + j) * TW, z = 4 * L * j;
            ShortVector bias = ShortVector.broadcast(SH, xb[blk]);
            float dx = xd[blk];
            for (int g = 0; g < 4; g++) { // group g: low sums' lanes (g / 2) L.. for even g, high sums' for odd
                int at = z + (g & 1) * 2 * L + (g >> 1) * L;
                FloatVector v = (FloatVector) ShortVector.fromArray(SH, sums, at).sub(bias)
                        .convertShape(VectorOperators.S2F, F, 0);
                v.fma(FloatVector.fromArray(F, d, so + g * L).mul(dx), FloatVector.fromArray(F, acc, o + g * L))
                        .intoArray(acc, o + g * L);
            }
        }
    }

    /** Block {@code b} of half {@code h} of super-group {@code sg} for tokens t..t+7 (values interleaved by 8). */
    private static void block8(LaneRows p, int sg, int h, int b, short[] xq, int xo, float[] xd, short[] xb, int t,
                               float[] acc, short[] sums) {
        byte[] q = p.quants();
        int blocks = p.blocks(), sgb = sg * blocks + b;
        ShortVector l0 = ShortVector.zero(S), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0;
        ShortVector h0 = l0, h1 = l0, h2 = l0, h3 = l0, h4 = l0, h5 = l0, h6 = l0, h7 = l0;
        int qb = sgb * 16 * W + h * 4 * L;
        for (int k = 0; k < 32; k++) {
            ShortVector u = (ShortVector) ByteVector.fromArray(B, q, qb + (k >> 1) * W + (k & 1) * 2 * L).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
            ShortVector lo = u.and((short) 0x0F), hi = u.lanewise(LSHR, 4);
            int xi = xo + 8 * k;
            ShortVector x = ShortVector.broadcast(S, xq[xi]);
            l0 = l0.add(lo.mul(x));
            h0 = h0.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 1]);
            l1 = l1.add(lo.mul(x));
            h1 = h1.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 2]);
            l2 = l2.add(lo.mul(x));
            h2 = h2.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 3]);
            l3 = l3.add(lo.mul(x));
            h3 = h3.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 4]);
            l4 = l4.add(lo.mul(x));
            h4 = h4.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 5]);
            l5 = l5.add(lo.mul(x));
            h5 = h5.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 6]);
            l6 = l6.add(lo.mul(x));
            h6 = h6.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 7]);
            l7 = l7.add(lo.mul(x));
            h7 = h7.add(hi.mul(x));
        }
        l0.intoArray(sums, 0);
        h0.intoArray(sums, 2 * L);
        l1.intoArray(sums, 4 * L);
        h1.intoArray(sums, 6 * L);
        l2.intoArray(sums, 8 * L);
        h2.intoArray(sums, 10 * L);
        l3.intoArray(sums, 12 * L);
        h3.intoArray(sums, 14 * L);
        l4.intoArray(sums, 16 * L);
        h4.intoArray(sums, 18 * L);
        l5.intoArray(sums, 20 * L);
        h5.intoArray(sums, 22 * L);
        l6.intoArray(sums, 24 * L);
        h6.intoArray(sums, 26 * L);
        l7.intoArray(sums, 28 * L);
        h7.intoArray(sums, 30 * L);
        finish(sums, 8, xb, xd, blocks, b, p.scales(), sgb * W + h * 4 * L, acc, t);
    }

    /** {@link #block8} for tokens t..t+3 (values interleaved by 4). */
    private static void block4(LaneRows p, int sg, int h, int b, short[] xq, int xo, float[] xd, short[] xb, int t,
                               float[] acc, short[] sums) {
        byte[] q = p.quants();
        int blocks = p.blocks(), sgb = sg * blocks + b;
        ShortVector l0 = ShortVector.zero(S), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
        int qb = sgb * 16 * W + h * 4 * L;
        for (int k = 0; k < 32; k++) {
            ShortVector u = (ShortVector) ByteVector.fromArray(B, q, qb + (k >> 1) * W + (k & 1) * 2 * L).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
            ShortVector lo = u.and((short) 0x0F), hi = u.lanewise(LSHR, 4);
            int xi = xo + 4 * k;
            ShortVector x = ShortVector.broadcast(S, xq[xi]);
            l0 = l0.add(lo.mul(x));
            h0 = h0.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 1]);
            l1 = l1.add(lo.mul(x));
            h1 = h1.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 2]);
            l2 = l2.add(lo.mul(x));
            h2 = h2.add(hi.mul(x));
            x = ShortVector.broadcast(S, xq[xi + 3]);
            l3 = l3.add(lo.mul(x));
            h3 = h3.add(hi.mul(x));
        }
        l0.intoArray(sums, 0);
        h0.intoArray(sums, 2 * L);
        l1.intoArray(sums, 4 * L);
        h1.intoArray(sums, 6 * L);
        l2.intoArray(sums, 8 * L);
        h2.intoArray(sums, 10 * L);
        l3.intoArray(sums, 12 * L);
        h3.intoArray(sums, 14 * L);
        finish(sums, 4, xb, xd, blocks, b, p.scales(), sgb * W + h * 4 * L, acc, t);
    }

    /** {@link #block8} for token t alone. */
    private static void block1(LaneRows p, int sg, int h, int b, short[] xq, int xo, float[] xd, short[] xb, int t,
                               float[] acc, short[] sums) {
        byte[] q = p.quants();
        int blocks = p.blocks(), sgb = sg * blocks + b;
        ShortVector l0 = ShortVector.zero(S), h0 = l0;
        int qb = sgb * 16 * W + h * 4 * L;
        for (int k = 0; k < 32; k++) {
            ShortVector u = (ShortVector) ByteVector.fromArray(B, q, qb + (k >> 1) * W + (k & 1) * 2 * L).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
            ShortVector x = ShortVector.broadcast(S, xq[xo + k]);
            l0 = l0.add(u.and((short) 0x0F).mul(x));
            h0 = h0.add(u.lanewise(LSHR, 4).mul(x));
        }
        l0.intoArray(sums, 0);
        h0.intoArray(sums, 2 * L);
        finish(sums, 1, xb, xd, blocks, b, p.scales(), sgb * W + h * 4 * L, acc, t);
    }
}
