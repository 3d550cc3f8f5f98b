package io.conduit.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A Q8_0 or Q4_0 matrix repacked for the batch-1 decode kernel: rows in groups of {@link #GROUP}, and within a
 * group the 32 int8 quants of block {@code b} of the group's rows stored one after the other ({@code [group]
 * [block][row][32 int8]}), so one sequential stream feeds {@link #GROUP} independent FMA chains; the fp16 block
 * scales are widened once to floats, {@code [group][block][row]}. Q4_0 nibbles are unpacked to int8 {@code
 * (nibble - 8)} in element order (low nibbles are elements 0..15, high ones 16..31), so both types share one
 * kernel: unpacking nibbles inside a 4-row kernel measured 2x slower than the file-layout kernel, and at batch 1
 * that kernel is compute-bound, not bandwidth-bound, so the doubled quant bytes cost less than the unpacking.
 * Rows past the last one are zero. Same values, same order within a row: a kernel over this layout computes
 * exactly the floats and FMA order of one over the file layout.
 */
public final class PackedRows {
    /** Rows per group. */
    public static final int GROUP = 4;
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GgmlType type;
    private final int rows;
    private final int cols;
    private final int blocks;
    private final byte[] quants;
    private final float[] scales;

    private PackedRows(GgmlType type, int rows, int cols, int blocks, byte[] quants, float[] scales) {
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.blocks = blocks;
        this.quants = quants;
        this.scales = scales;
    }

    /**
     * Null when the type is not Q8_0/Q4_0, the packed arrays would not fit in a Java array, or the heap has less
     * than twice their size free.
     */
    static PackedRows pack(WeightMatrix w) {
        GgmlType type = w.type();
        if (type != GgmlType.Q8_0 && type != GgmlType.Q4_0) return null;
        int qb = 32; // int8 quants per block (Q4_0 nibbles are unpacked)
        int blocks = w.cols() / 32;
        int groups = (w.rows() + GROUP - 1) / GROUP;
        long nScales = (long) groups * blocks * GROUP;
        long nQuants = nScales * qb;
        if (nQuants > Integer.MAX_VALUE - 64) return null;
        // The copy lives on the heap: leave at least half of what is free to everything else, and never let a
        // failed allocation take the engine down (the caller then keeps reading the file layout).
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (nQuants + 4 * nScales > free / 2) return null;
        byte[] q;
        float[] d;
        try {
            q = new byte[(int) nQuants];
            d = new float[(int) nScales];
        } catch (OutOfMemoryError e) {
            return null;
        }
        MemorySegment s = w.segment();
        long bb = type.typeSize();
        for (int r = 0; r < w.rows(); r++) {
            int g = r / GROUP, i = r % GROUP;
            long o = w.rowOffset(r);
            for (int b = 0; b < blocks; b++) {
                long bo = o + bb * b;
                int k = (g * blocks + b) * GROUP + i;
                d[k] = Float.float16ToFloat(s.get(LE_SHORT, bo));
                if (type == GgmlType.Q8_0) {
                    MemorySegment.copy(s, ValueLayout.JAVA_BYTE, bo + 2, q, k * qb, qb);
                } else {
                    for (int j = 0; j < 16; j++) {
                        int v = s.get(ValueLayout.JAVA_BYTE, bo + 2 + j) & 0xFF;
                        q[k * qb + j] = (byte) ((v & 0x0F) - 8);
                        q[k * qb + 16 + j] = (byte) ((v >>> 4) - 8);
                    }
                }
            }
        }
        return new PackedRows(type, w.rows(), w.cols(), blocks, q, d);
    }

    public GgmlType type() { return type; }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** Blocks of 32 per row. */
    public int blocks() { return blocks; }

    /** Row groups ({@code ceil(rows / GROUP)}). */
    public int groups() { return (rows + GROUP - 1) / GROUP; }

    /** The quant stream (shared, do not modify). */
    public byte[] quants() { return quants; }

    /** The block scales as floats (shared, do not modify). */
    public float[] scales() { return scales; }
}
