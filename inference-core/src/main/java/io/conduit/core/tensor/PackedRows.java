package io.conduit.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;

/**
 * A Q4_K matrix repacked for the batch-1 decode kernel: rows in groups of {@link #GROUP}, and within a group the
 * quants of block {@code b} of the group's rows stored one after the other ({@code [group][block][row][quants]}), so
 * one sequential stream feeds {@link #GROUP} independent FMA chains. Each 32-element sub-block becomes Q4_0-style
 * nibbles with its scale and min as floats ({@code [group][block][row]}), where the 16-lane kernel runs ({@link
 * #packQ4_K}). Rows past the last one are zero. Same values, same order within a row: the kernel computes exactly the
 * floats and FMA order of one over the file layout. (Q8_0, Q4_0 and Q6_K have row-per-lane copies instead: {@link
 * LaneRows}.)
 */
public final class PackedRows {
    /** Rows per group. */
    public static final int GROUP = 4;
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Whether 4-bit weights are read as nibbles: Q4_0 lane copies ({@link LaneRows}) and Q4_K packed copies. {@code
     * conduit.q4.kernel} (system property, first) or {@code CONDUIT_Q4_KERNEL} (environment) set to {@code int8}
     * (Q4_0 widened to int8, Q4_K read from the file) or {@code nibble}; by default nibbles wherever the 16-lane
     * nibble kernels run.
     */
    public static final boolean Q4_NIBBLES = q4Nibbles(System.getProperty("conduit.q4.kernel"),
            System.getenv("CONDUIT_Q4_KERNEL"), FloatVector.SPECIES_PREFERRED.length() == 16);

    private final GgmlType type;
    private final boolean nibbles;
    private final int rows;
    private final int cols;
    private final int blocks;
    private final byte[] quants;
    private final float[] scales;
    private final float[] mins;

    private PackedRows(GgmlType type, boolean nibbles, int rows, int cols, int blocks, byte[] quants, float[] scales) {
        this(type, nibbles, rows, cols, blocks, quants, scales, null);
    }

    private PackedRows(GgmlType type, boolean nibbles, int rows, int cols, int blocks, byte[] quants, float[] scales,
                       float[] mins) {
        this.type = type;
        this.nibbles = nibbles;
        this.rows = rows;
        this.cols = cols;
        this.blocks = blocks;
        this.quants = quants;
        this.scales = scales;
        this.mins = mins;
    }

    /**
     * Null when the type is not Q4_K (Q8_0, Q4_0 and Q6_K have {@link LaneRows} copies), the 16-lane kernel does not
     * run, the packed arrays would not fit in a Java array, or the heap has less than twice their size free.
     */
    static PackedRows pack(WeightMatrix w) {
        return w.type() == GgmlType.Q4_K && Q4_NIBBLES ? packQ4_K(w) : null;
    }

    /**
     * A Q4_K matrix in the Q4_0 nibble layout ({@link #nibbles()}): each 32-element sub-block of a super-block
     * becomes a block of 16 bytes (element j in the low nibble of byte j, element 16 + j in its high nibble),
     * with its {@code d * sc} in {@link #scales()} and its {@code dmin * m} in {@link #mins()}, so an element is
     * {@code scale * n - min}, the codec's value. The 4-row nibble kernel then reads Q4_K like Q4_0 (one stream, no
     * per-super-block unpacking of 6-bit scales). Null where Q4_0 would not keep nibbles, or if it does not fit.
     */
    static PackedRows packQ4_K(WeightMatrix w) {
        int blocks = w.cols() / 32;
        int groups = (w.rows() + GROUP - 1) / GROUP;
        Storage st = Storage.allocate((long) groups * blocks * GROUP, 16, true);
        if (st == null) return null;
        byte[] q = st.quants();
        float[] d = st.scales(), m = st.mins();
        MemorySegment s = w.segment();
        int[] sm = new int[2];
        for (int r = 0; r < w.rows(); r++) {
            int g = r / GROUP, i = r % GROUP;
            long o = w.rowOffset(r);
            for (int sb = 0; sb < w.cols() / Q4_KCodec.QK; sb++) {
                long so = o + (long) sb * Q4_KCodec.BLOCK_BYTES;
                float dAll = Float.float16ToFloat(s.get(LE_SHORT, so));
                float dMin = Float.float16ToFloat(s.get(LE_SHORT, so + 2));
                for (int j = 0; j < 8; j++) { // sub-block j: nibbles (low for even j, high for odd) of qs[32(j/2) ..]
                    Q4_KCodec.scaleMin(s, so + 4, j, sm);
                    int b = 8 * sb + j, k = (g * blocks + b) * GROUP + i;
                    d[k] = dAll * sm[0];
                    m[k] = dMin * sm[1];
                    long qs = so + 16 + 32L * (j / 2);
                    for (int e = 0; e < 16; e++) {
                        int lo = s.get(ValueLayout.JAVA_BYTE, qs + e) & 0xFF, hi = s.get(ValueLayout.JAVA_BYTE, qs + 16 + e) & 0xFF;
                        int nLo = (j & 1) == 0 ? lo & 0x0F : lo >>> 4, nHi = (j & 1) == 0 ? hi & 0x0F : hi >>> 4;
                        q[k * 16 + e] = (byte) (nLo | nHi << 4);
                    }
                }
            }
        }
        return new PackedRows(GgmlType.Q4_K, true, w.rows(), w.cols(), blocks, q, d, m);
    }

    /**
     * The Q4_0 layout for an override ({@code property} first, then {@code env}: {@code int8} or {@code nibble},
     * any case; anything else is ignored) and whether this CPU runs the nibble kernel ({@code nibbleKernel}: 16
     * float lanes). {@code nibble} without the kernel falls back to int8.
     */
    static boolean q4Nibbles(String property, String env, boolean nibbleKernel) {
        for (String v : new String[]{property, env}) {
            if (v == null) continue;
            String k = v.trim().toLowerCase(Locale.ROOT);
            if (k.equals("int8")) return false;
            if (k.equals("nibble")) return nibbleKernel;
        }
        return nibbleKernel;
    }

    /** A copy's arrays: quants, one scale per block and row, and (with mins) one min. */
    record Storage(byte[] quants, float[] scales, float[] mins) {
        /**
         * Null if the arrays would not fit in Java arrays or in half of the free heap: the copy lives on the heap,
         * so leave at least half of what is free to everything else, and never let a failed allocation take the
         * engine down (the caller then keeps reading the file layout).
         */
        static Storage allocate(long nScales, int quantBytesPerBlock, boolean withMins) {
            long nQuants = nScales * quantBytesPerBlock;
            if (nQuants > Integer.MAX_VALUE - 64 || nScales > Integer.MAX_VALUE - 64) return null;
            Runtime rt = Runtime.getRuntime();
            long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
            if (nQuants + (withMins ? 8 : 4) * nScales > free / 2) return null;
            try {
                return new Storage(new byte[(int) nQuants], new float[(int) nScales],
                        withMins ? new float[(int) nScales] : null);
            } catch (OutOfMemoryError e) {
                return null;
            }
        }
    }

    public GgmlType type() { return type; }

    /**
     * Whether the quants are nibbles (Q4_K: 16 bytes per row and 32-element block, {@code [group][block][row][16]}:
     * byte {@code j} holds element {@code j} in its low nibble and {@code 16 + j} in its high one) instead of int8.
     */
    public boolean nibbles() { return nibbles; }

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

    /** Q4_K only: each block's {@code dmin * m}, subtracted after scaling (shared, do not modify); else null. */
    public float[] mins() { return mins; }
}
