package io.conduit.core.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activation rows quantized to int8 per block of 32, as llama.cpp's Q8_0 quantizes them for its integer dot products:
 * {@code d = max|x| / 127}, {@code q = rint(x * (1 / d))} (0 where the block is all zeros). Kept per block: the scale
 * {@code d} and the bias {@code 8 sum q}, which {@link NibbleInt16MatMul} takes off nibble sums once per block. Values
 * are shorts, ready to broadcast into short lanes; interleaved, each token group of {@link
 * NibbleInt16MatMul#tokenGroup} keeps element k of its g tokens side by side: {@code values[t * cols + k * g + j]}.
 * One instance per calling thread, reused between calls; the pool only reads it.
 */
final class QuantizedActivations {
    private static final VectorSpecies<Float> F = Dequant.F;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int L = F.length();
    /** L shorts, the lanes of one float vector narrowed. */
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L));
    /** 1.5 x 2^23: added to |v| < 2^22 it leaves rint(v) in the low mantissa bits. */
    private static final float MAGIC = 0x1.8p23f;
    private static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);

    private short[] values = new short[0];
    private short[] plain = new short[0];
    private float[] scales = new float[0];
    private short[] biases = new short[0];

    short[] values() { return values; }

    /** {@code d} of block b of token t at {@code [t * blocks + b]}. */
    float[] scales() { return scales; }

    /** {@code 8 sum q} of block b of token t at {@code [t * blocks + b]} (as a short: it wraps as the sums do). */
    short[] biases() { return biases; }

    /** Quantizes {@code batch} rows of {@code cols} (a multiple of 32); tokens interleaved by group or row-major. */
    void quantize(float[] x, int batch, int cols, boolean interleave) {
        int blocks = cols / 32;
        if (values.length < batch * cols) values = new short[batch * cols];
        if (plain.length < cols) plain = new short[cols];
        if (scales.length < batch * blocks) {
            scales = new float[batch * blocks];
            biases = new short[batch * blocks];
        }
        for (int t = 0; t < batch; ) {
            int g = interleave ? NibbleInt16MatMul.tokenGroup(batch - t) : 1;
            for (int j = 0; j < g; j++) {
                short[] row = g == 1 ? values : plain;
                int rowOff = g == 1 ? (t + j) * cols : 0;
                quantizeRow(x, (t + j) * cols, blocks, row, rowOff, scales, biases, (t + j) * blocks);
                if (g > 1) {
                    for (int k = 0, o = t * cols + j; k < cols; k++, o += g) values[o] = plain[k];
                }
            }
            t += g;
        }
    }

    /** One row: blocks of 32 from x[xOff..] to q[qOff..], their d and 8 sum q to scales and biases [sOff..]. */
    static void quantizeRow(float[] x, int xOff, int blocks, short[] q, int qOff, float[] scales, short[] biases,
                            int sOff) {
        for (int b = 0; b < blocks; b++) {
            int o = xOff + 32 * b;
            FloatVector amax = FloatVector.zero(F);
            for (int i = 0; i < 32; i += L) amax = amax.max(FloatVector.fromArray(F, x, o + i).abs());
            float d = amax.reduceLanes(VectorOperators.MAX) / 127f;
            float id = d != 0 ? 1f / d : 0f;
            IntVector sum = IntVector.zero(I);
            for (int i = 0; i < 32; i += L) {
                IntVector v = FloatVector.fromArray(F, x, o + i).mul(id).add(MAGIC).reinterpretAsInts().sub(MAGIC_BITS);
                sum = sum.add(v);
                v.convertShape(VectorOperators.I2S, SH, 0).reinterpretAsShorts().intoArray(q, qOff + 32 * b + i);
            }
            scales[sOff + b] = d;
            biases[sOff + b] = (short) (8 * sum.reduceLanes(VectorOperators.ADD));
        }
    }

    /** The recipe of {@link #quantizeRow} in scalar Java (the tests' reference): q values to q, returns d. */
    static float quantizeBlock(float[] x, int off, int[] q) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[off + i]));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        for (int i = 0; i < 32; i++) q[i] = (int) Math.rint(x[off + i] * id);
        return d;
    }
}
