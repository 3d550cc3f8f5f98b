package io.conduit.core.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A rows x cols weight matrix stored row-major in any supported {@link GgmlType}, read in place from a
 * memory-mapped file (or any segment). Row {@code r} holds the weights of output feature {@code r}.
 *
 * <p>Q8_0, Q4_0, Q4_K and Q6_K matrices also carry a lazily built {@link LaneRows} copy for the kernels (one row per
 * vector lane, every batch size); equality and hashing ignore it.
 */
public final class WeightMatrix {
    private final String name;
    private final MemorySegment segment;
    private final long offset;
    private final GgmlType type;
    private final int rows;
    private final int cols;
    private final TensorCodec codec;
    private volatile LaneRows lanes;
    private boolean lanesTried;

    public WeightMatrix(String name, MemorySegment segment, long offset, GgmlType type, int rows, int cols,
                        TensorCodec codec) {
        this.name = name;
        this.segment = segment;
        this.offset = offset;
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.codec = codec;
    }

    public static WeightMatrix of(String name, MemorySegment segment, long offset, GgmlType type, int rows, int cols) {
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(name + ": row length " + cols + " is not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        return new WeightMatrix(name, segment, offset, type, rows, cols, TensorCodec.of(type));
    }

    public String name() { return name; }

    public MemorySegment segment() { return segment; }

    public long offset() { return offset; }

    public GgmlType type() { return type; }

    public int rows() { return rows; }

    public int cols() { return cols; }

    public TensorCodec codec() { return codec; }

    public long rowBytes() {
        return type.byteSize(cols);
    }

    public long rowOffset(int row) {
        return offset + row * rowBytes();
    }

    /** Weights of row {@code row} . x[xOff .. xOff+cols). */
    public float dotRow(int row, float[] x, int xOff) {
        return codec.dot(segment, rowOffset(row), x, xOff, cols);
    }

    public void dequantizeRow(int row, float[] dst, int dstOff) {
        codec.dequantize(segment, rowOffset(row), dst, dstOff, cols);
    }

    public long byteSize() {
        return rows * rowBytes();
    }

    /**
     * The row-per-lane copy of a Q8_0 / Q4_0 / Q4_K / Q6_K matrix ({@link LaneRows}), built on first call (once, thread-safe);
     * null for other types or when it does not fit the heap.
     */
    public LaneRows lanes() {
        LaneRows l = lanes;
        if (l != null) return l;
        synchronized (this) {
            if (lanes == null && !lanesTried) {
                lanesTried = true;
                lanes = LaneRows.pack(this);
            }
            return lanes;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WeightMatrix w && offset == w.offset && rows == w.rows && cols == w.cols
                && type == w.type && Objects.equals(name, w.name) && Objects.equals(segment, w.segment)
                && Objects.equals(codec, w.codec);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, segment, offset, type, rows, cols, codec);
    }

    @Override
    public String toString() {
        return "WeightMatrix[name=" + name + ", segment=" + segment + ", offset=" + offset + ", type=" + type
                + ", rows=" + rows + ", cols=" + cols + ", codec=" + codec + "]";
    }
}
