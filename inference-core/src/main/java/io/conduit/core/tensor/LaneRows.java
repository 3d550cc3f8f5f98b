package io.conduit.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;

/**
 * A Q8_0, Q4_0, Q4_K or Q6_K matrix repacked so that one vector lane holds one row: {@code lanes} rows (the float vector
 * length) side by side for every element {@code k}, so a kernel computes {@code lanes} dot products at once, each
 * a plain FMA chain over {@code k = 0, 1, 2, ...} with no horizontal sum at the end. The batched kernels run the
 * same chains with activations broadcast from memory (see {@code kernels.LaneMatMul}), which is what lets one
 * recipe serve batch 1 and wide batches bit for bit.
 *
 * <p>Rows come in super-groups of {@link #groups()} lane groups ({@code W = groups * lanes} rows; the last one is
 * padded with zero-scale rows). Within a super-group, element {@code k} of all its rows is one run of {@code W}
 * bytes, block after block, so the batch-1 kernel reads one sequential stream feeding one chain per lane group:
 * <ul>
 *   <li>int8 ({@link #nibbles()} false): {@code quants[(sg * cols + k) * W + g * L + lane]} = quant of element
 *   {@code k} of row {@code sg * W + g * L + lane}. Q8_0 as is; Q4_0 as {@code nibble - 8}; Q6_K as {@code q - 32}.</li>
 *   <li>Q4_0 nibbles: {@code quants[nibbleOffset(sg * blocks + b, k, g / 2, L) + lane]} holds element {@code k}
 *   of lane groups {@code g} (low nibble, g even) and {@code g + 1} (high nibble), value {@code nibble - 8}.</li>
 * </ul>
 * Scales as floats, one per row and {@link #run()} elements (32; 16 for Q6_K, whose scale is {@code d * sc}):
 * {@code scales[(sg * cols / run + k / run) * W + g * L + lane]}. Values are the codec's: {@code scale * q}.
 */
public final class LaneRows {
    /**
     * Lane groups per super-group: independent chains of the batch-1 kernel. 8, so that each step of an int8 copy's
     * stream is two 64-byte lines: with 4 groups (one line per step) the kernel streamed 11-12 GB/s per core from
     * DRAM against 27 with 8, the same as the 4-row layout it replaced; from L2 both ran ~50 GB/s.
     */
    public static final int GROUPS = 8;
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Whether this machine runs the nibble kernels: 8 or 16 float lanes (AVX2 or AVX-512). */
    private static final boolean NIBBLE_KERNEL =
            FloatVector.SPECIES_PREFERRED.length() == 8 || FloatVector.SPECIES_PREFERRED.length() == 16;

    /** How Q4_0 matrices are copied and multiplied. */
    public enum Q4Kernel {
        /** Widened to int8 copies, the float recipe: one byte per weight. */
        INT8,
        /** 4-bit nibbles, the float recipe (activations as floats). */
        NIBBLE,
        /**
         * 4-bit nibbles times activations quantized to int8 per block of 32, products summed in int16 lanes and
         * scaled per block (llama.cpp's Q4_0 x Q8_0 dot product): half the vector ops per weight of the float recipe.
         */
        INT16
    }

    /**
     * The Q4_0 kernel. {@code conduit.q4.kernel} (system property, first) or {@code CONDUIT_Q4_KERNEL} (environment)
     * set to {@code int16}, {@code nibble} or {@code int8} chooses; by default {@code int16} wherever the nibble
     * kernels run (8 or 16 float lanes). Its int16 products run at ~1.7x the FMA rate of the float recipe, so batch 1
     * reads 4-bit weights as fast as the memory delivers them (docs/BENCHMARKS.md, session 12).
     */
    public static final Q4Kernel Q4_0_KERNEL = q4Kernel(System.getProperty("conduit.q4.kernel"),
            System.getenv("CONDUIT_Q4_KERNEL"), NIBBLE_KERNEL, Q4Kernel.INT16);

    /** Whether Q4_0 copies keep 4-bit nibbles rather than int8. */
    public static final boolean Q4_0_NIBBLES = Q4_0_KERNEL != Q4Kernel.INT8;

    /**
     * Whether Q4_K matrices get a (nibble) copy: as Q4_0's, wherever the nibble kernels run unless the override asks for
     * {@code int8}, which reads Q4_K from the file layout instead.
     */
    public static final boolean Q4_K_NIBBLES = Q4_0_NIBBLES;

    private final GgmlType type;
    private final boolean nibbles;
    private final boolean quantizedActivations;
    private final int rows;
    private final int cols;
    private final int lanes;
    private final int groups;
    private final int run;
    private final byte[] quants;
    private final float[] scales;
    private final float[] mins;

    private LaneRows(GgmlType type, boolean nibbles, boolean quantizedActivations, int rows, int cols, int lanes,
                     int groups, int run, byte[] quants, float[] scales, float[] mins) {
        this.type = type;
        this.nibbles = nibbles;
        this.quantizedActivations = quantizedActivations;
        this.rows = rows;
        this.cols = cols;
        this.lanes = lanes;
        this.groups = groups;
        this.run = run;
        this.mins = mins;
        this.quants = quants;
        this.scales = scales;
    }

    /** Whether matrices of this type can have a copy: Q8_0, Q4_0, Q4_K and Q6_K. */
    public static boolean supports(GgmlType type) {
        return type == GgmlType.Q8_0 || type == GgmlType.Q4_0 || type == GgmlType.Q4_K || type == GgmlType.Q6_K;
    }

    /** The copy for this machine's vector length; null for other types or when it does not fit the heap. */
    static LaneRows pack(WeightMatrix w) {
        return pack(w, FloatVector.SPECIES_PREFERRED.length(), Q4_0_KERNEL); // Q4_K: nibbles unless INT8 (Q4_K_NIBBLES)
    }

    /** As {@link #pack(WeightMatrix, int, boolean)}, Q4_0 as {@code kernel} says (other types as their only way). */
    public static LaneRows pack(WeightMatrix w, int lanes, Q4Kernel kernel) {
        if (w.type() != GgmlType.Q4_0) return pack(w, lanes, kernel != Q4Kernel.INT8);
        return pack(w, lanes, kernel != Q4Kernel.INT8, kernel == Q4Kernel.INT16);
    }

    /**
     * As above with {@code lanes} rows per lane group. {@code nibbles}: Q4_0 kept at 4 bits (else widened to int8);
     * Q4_K is only copied as nibbles (null without).
     */
    public static LaneRows pack(WeightMatrix w, int lanes, boolean nibbles) {
        return pack(w, lanes, nibbles, false);
    }

    private static LaneRows pack(WeightMatrix w, int lanes, boolean nibbles, boolean quantizedActivations) {
        GgmlType type = w.type();
        if (type == GgmlType.Q6_K) return packQ6_K(w, lanes);
        if (type == GgmlType.Q4_K) return nibbles ? packQ4_K(w, lanes) : null;
        if (!supports(type)) return null;
        nibbles &= type == GgmlType.Q4_0;
        int blocks = w.cols() / 32;
        int groups = GROUPS;
        int width = groups * lanes; // rows per super-group
        int superGroups = (w.rows() + width - 1) / width;
        int perBlock = nibbles ? 16 : 32; // runs of `width` bytes per block
        Storage st = Storage.allocate((long) superGroups * blocks * width, perBlock, false);
        if (st == null) return null;
        byte[] q = st.quants();
        float[] d = st.scales();
        MemorySegment s = w.segment();
        long bb = type.typeSize();
        for (int r = 0; r < w.rows(); r++) {
            int sg = r / width, lane = r % width; // lane across the super-group: g * lanes + lane in the group
            int g = lane / lanes;
            long o = w.rowOffset(r);
            for (int b = 0; b < blocks; b++) {
                long bo = o + bb * b;
                int sgb = sg * blocks + b;
                d[sgb * width + lane] = Float.float16ToFloat(s.get(LE_SHORT, bo));
                for (int k = 0; k < 32; k++) {
                    int v = s.get(ValueLayout.JAVA_BYTE, bo + 2 + (type == GgmlType.Q8_0 ? k : k % 16));
                    if (type == GgmlType.Q8_0) {
                        q[(sgb * 32 + k) * width + lane] = (byte) v;
                        continue;
                    }
                    int n = k < 16 ? v & 0x0F : (v >>> 4) & 0x0F; // Q4_0: element k < 16 low nibble of byte k
                    if (nibbles) {
                        int at = nibbleOffset(sgb, k, g / 2, lanes) + lane % lanes;
                        q[at] = (byte) (g % 2 == 0 ? (q[at] & 0xF0) | n : (q[at] & 0x0F) | n << 4);
                    } else {
                        q[(sgb * 32 + k) * width + lane] = (byte) (n - 8);
                    }
                }
            }
        }
        return new LaneRows(type, nibbles, nibbles && quantizedActivations, w.rows(), w.cols(), lanes, groups, 32, q, d,
                null); // padding rows: scale 0
    }

    /**
     * Q6_K as int8 {@code q - 32} in the int8 layout, with one float scale {@code d * sc} per row and 16 elements
     * ({@link #run()} 16): the codec's {@code (d * sc) * (q - 32)}.
     */
    static LaneRows packQ6_K(WeightMatrix w, int lanes) {
        int cols = w.cols(), width = GROUPS * lanes, superGroups = (w.rows() + width - 1) / width, runs = cols / 16;
        Storage st = Storage.allocate((long) superGroups * runs * width, 16, false);
        if (st == null) return null;
        byte[] q = st.quants();
        float[] d = st.scales();
        MemorySegment s = w.segment();
        for (int r = 0; r < w.rows(); r++) {
            int sg = r / width, lane = r % width;
            long o = w.rowOffset(r);
            for (int sb = 0; sb < cols / 256; sb++) {
                long so = o + 210L * sb;
                float dAll = Float.float16ToFloat(s.get(LE_SHORT, so + 208));
                for (int e = 0; e < 256; e++) { // element e of the super-block: the codec's 6-bit value, less 32
                    int h = e / 128, k = 256 * sb + e;
                    int v = Q6_KCodec.q6(s, so + 64L * h, so + 128 + 32L * h, e % 128);
                    q[((sg * cols) + k) * width + lane] = (byte) (v - 32);
                    if (e % 16 == 0) d[(sg * runs + k / 16) * width + lane] = dAll * s.get(ValueLayout.JAVA_BYTE, so + 192 + e / 16);
                }
            }
        }
        return new LaneRows(GgmlType.Q6_K, false, false, w.rows(), cols, lanes, GROUPS, 16, q, d, null);
    }

    /**
     * Q4_K in the nibble layout (each 32-element sub-block a block), nibble values {@code n} (no offset), with each
     * row and sub-block's {@code d * sc} in {@link #scales()} and {@code dmin * m} in {@link #mins()}: an element is
     * {@code scale * n - min}, the codec's value.
     */
    static LaneRows packQ4_K(WeightMatrix w, int lanes) {
        int cols = w.cols(), blocks = cols / 32, width = GROUPS * lanes, superGroups = (w.rows() + width - 1) / width;
        Storage st = Storage.allocate((long) superGroups * blocks * width, 16, true);
        if (st == null) return null;
        byte[] q = st.quants();
        float[] d = st.scales(), m = st.mins();
        MemorySegment s = w.segment();
        int[] sm = new int[2];
        for (int r = 0; r < w.rows(); r++) {
            int sg = r / width, lane = r % width, g = lane / lanes;
            long o = w.rowOffset(r);
            for (int sb = 0; sb < cols / Q4_KCodec.QK; sb++) {
                long so = o + (long) sb * Q4_KCodec.BLOCK_BYTES;
                float dAll = Float.float16ToFloat(s.get(LE_SHORT, so));
                float dMin = Float.float16ToFloat(s.get(LE_SHORT, so + 2));
                for (int j = 0; j < 8; j++) { // sub-block j: nibbles (low for even j, high for odd) of qs[32(j/2) ..]
                    Q4_KCodec.scaleMin(s, so + 4, j, sm);
                    int sgb = sg * blocks + 8 * sb + j;
                    d[sgb * width + lane] = dAll * sm[0];
                    m[sgb * width + lane] = dMin * sm[1];
                    long qs = so + 16 + 32L * (j / 2);
                    for (int e = 0; e < 32; e++) {
                        int v = s.get(ValueLayout.JAVA_BYTE, qs + e) & 0xFF;
                        int n = (j & 1) == 0 ? v & 0x0F : v >>> 4;
                        int at = nibbleOffset(sgb, e, g / 2, lanes) + lane % lanes;
                        q[at] = (byte) (g % 2 == 0 ? (q[at] & 0xF0) | n : (q[at] & 0x0F) | n << 4);
                    }
                }
            }
        }
        return new LaneRows(GgmlType.Q4_K, true, false, w.rows(), cols, lanes, GROUPS, 32, q, d, m);
    }

    /**
     * Where element {@code k} of lane-group pair {@code pair} (groups 2 pair and 2 pair + 1) starts in a nibble copy
     * ({@code sgb = sg * blocks + b}): one byte per lane, group 2 pair's nibble low, 2 pair + 1's high, so one load
     * and one widening give two groups' weights. Elements go in pairs (k, k + 1), each pair two lines of {@code 4
     * lanes} bytes: pairs 0-1 in the first line, 2-3 in the second, k before k + 1 within each, so the 4 loads of one
     * k touch both lines, as the int8 layout's steps do.
     */
    public static int nibbleOffset(int sgb, int k, int pair, int lanes) {
        return (sgb * 16 + k / 2) * 8 * lanes + (pair / 2) * 4 * lanes + (k % 2) * 2 * lanes + (pair % 2) * lanes;
    }

    /**
     * The Q4_0 kernel for an override ({@code property} first, then {@code env}: {@code int16}, {@code nibble} or
     * {@code int8}, any case; anything else is ignored), whether this CPU runs the nibble kernels, and the choice
     * without an override. Without the nibble kernels every choice falls back to int8.
     */
    static Q4Kernel q4Kernel(String property, String env, boolean nibbleKernel, Q4Kernel byDefault) {
        if (!nibbleKernel) return Q4Kernel.INT8;
        for (String v : new String[]{property, env}) {
            if (v == null) continue;
            switch (v.trim().toLowerCase(Locale.ROOT)) {
                case "int8": return Q4Kernel.INT8;
                case "nibble": return Q4Kernel.NIBBLE;
                case "int16": return Q4Kernel.INT16;
                default: break;
            }
        }
        return byDefault;
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

    /** Whether the quants are Q4_0 nibbles (16 runs per block) rather than int8 (32 runs per block). */
    public boolean nibbles() { return nibbles; }

    /** Q4_0 nibbles only: whether the copy multiplies activations quantized to int8 ({@link Q4Kernel#INT16}). */
    public boolean quantizedActivations() { return quantizedActivations; }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** Rows per lane group: the float vector length the copy was made for. */
    public int lanes() { return lanes; }

    /** Lane groups per super-group. */
    public int groups() { return groups; }

    /** Rows per super-group ({@link #groups()} lane groups). */
    public int width() { return groups * lanes; }

    /** Blocks of 32 per row. */
    public int blocks() { return cols / 32; }

    /** Elements per scale (and min): 32, or 16 for Q6_K. */
    public int run() { return run; }

    /** Q4_K only: each row and sub-block's {@code dmin * m}, subtracted after scaling (shared, do not modify). */
    public float[] mins() { return mins; }



    public int superGroups() { return (rows + width() - 1) / width(); }

    /** The quant runs (shared, do not modify). */
    public byte[] quants() { return quants; }

    /** The block scales as floats (shared, do not modify). */
    public float[] scales() { return scales; }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "LaneRows[%s %dx%d, %d lanes%s]", type, rows, cols, lanes,
                nibbles ? quantizedActivations ? ", nibbles x int8" : ", nibbles" : "");
    }
}
