package io.conduit.core.kv;

import io.conduit.core.kernels.VectorMath;
import io.conduit.core.model.ModelConfig;

/**
 * Key and value vectors of all sequences, in fixed-size blocks shared through one {@link BlockPool}.
 * Storage per layer is [slot][kvHeads * headDim] where slot = block * blockSize + offset.
 *
 * <p>Either float32, or int8 with one float scale per group of 32 values (Q8_0's recipe; a whole head when
 * the head size is not a multiple of 32), which holds about 3.5x more tokens in the same memory at a small
 * cost in precision. Attention reads the cache only through {@link #dotKey} and {@link #addValue}.
 */
public final class KvCache {
    private static final int Q8_GROUP = 32;

    private final int blockSize;
    private final int kvDim;
    private final float[][] keys;
    private final float[][] values;
    private final Int8Store quantizedKeys;
    private final Int8Store quantizedValues;
    private final BlockPool pool;

    public KvCache(ModelConfig config, int blocks, int blockSize) {
        this(config, blocks, blockSize, false);
    }

    public KvCache(ModelConfig config, int blocks, int blockSize, boolean quantized) {
        if (blockSize <= 0) throw new IllegalArgumentException("block size must be positive");
        long valuesPerLayer = (long) blocks * blockSize * config.kvDim();
        if (valuesPerLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("KV cache of " + blocks + " blocks is too large for one layer array");
        }
        this.blockSize = blockSize;
        this.kvDim = config.kvDim();
        int slots = blocks * blockSize;
        int group = groupSize(config);
        this.keys = quantized ? null : new float[config.layers()][(int) valuesPerLayer];
        this.values = quantized ? null : new float[config.layers()][(int) valuesPerLayer];
        this.quantizedKeys = quantized ? new Int8Store(config.layers(), slots, kvDim, group) : null;
        this.quantizedValues = quantized ? new Int8Store(config.layers(), slots, kvDim, group) : null;
        this.pool = new BlockPool(blocks);
    }

    /** Blocks that fit a memory budget of {@code bytes}. */
    public static int blocksForBudget(ModelConfig config, long bytes, int blockSize) {
        return blocksForBudget(config, bytes, blockSize, false);
    }

    public static int blocksForBudget(ModelConfig config, long bytes, int blockSize, boolean quantized) {
        long valuesPerBlock = 2L * config.layers() * blockSize * config.kvDim();
        long perBlock = quantized ? valuesPerBlock + valuesPerBlock / groupSize(config) * Float.BYTES
                : valuesPerBlock * Float.BYTES;
        return (int) Math.max(1, bytes / perBlock);
    }

    private static int groupSize(ModelConfig config) {
        return config.headDim() % Q8_GROUP == 0 ? Q8_GROUP : config.headDim();
    }

    public int blockSize() { return blockSize; }

    public BlockPool pool() { return pool; }

    public boolean quantized() { return quantizedKeys != null; }

    public BlockTable newTable() { return new BlockTable(blockSize); }

    /** Writes one token's keys and values (kvDim floats each) into {@code slot}. */
    public void store(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
        if (quantizedKeys != null) {
            quantizedKeys.store(layer, slot, k, kOff);
            quantizedValues.store(layer, slot, v, vOff);
        } else {
            System.arraycopy(k, kOff, keys[layer], slot * kvDim, kvDim);
            System.arraycopy(v, vOff, values[layer], slot * kvDim, kvDim);
        }
    }

    /** q[qOff..qOff+n) . key[slot][headOff..headOff+n) */
    public float dotKey(int layer, int slot, int headOff, float[] q, int qOff, int n) {
        if (quantizedKeys != null) return quantizedKeys.dot(layer, slot, headOff, q, qOff, n);
        return VectorMath.dot(q, qOff, keys[layer], slot * kvDim + headOff, n);
    }

    /** out[outOff..outOff+n) += weight * value[slot][headOff..headOff+n) */
    public void addValue(int layer, int slot, int headOff, float weight, float[] out, int outOff, int n) {
        if (quantizedValues != null) {
            quantizedValues.axpy(layer, slot, headOff, weight, out, outOff, n);
        } else {
            VectorMath.axpy(weight, values[layer], slot * kvDim + headOff, out, outOff, n);
        }
    }

    /** Symmetric int8 with one scale per group of values: x ~= scale * q, q in [-127, 127]. */
    private static final class Int8Store {
        private final byte[][] quants;
        private final float[][] scales;
        private final int kvDim;
        private final int group;

        Int8Store(int layers, int slots, int kvDim, int group) {
            this.quants = new byte[layers][slots * kvDim];
            this.scales = new float[layers][slots * (kvDim / group)];
            this.kvDim = kvDim;
            this.group = group;
        }

        void store(int layer, int slot, float[] x, int off) {
            byte[] q = quants[layer];
            float[] s = scales[layer];
            for (int g = 0; g < kvDim / group; g++) {
                float max = 0;
                for (int i = 0; i < group; i++) max = Math.max(max, Math.abs(x[off + g * group + i]));
                float scale = max / 127f;
                float inv = scale == 0 ? 0 : 1f / scale;
                s[slot * (kvDim / group) + g] = scale;
                int base = slot * kvDim + g * group;
                for (int i = 0; i < group; i++) q[base + i] = (byte) Math.round(x[off + g * group + i] * inv);
            }
        }

        /** headOff and n are whole groups (a head is one or more groups). */
        float dot(int layer, int slot, int headOff, float[] x, int xOff, int n) {
            byte[] q = quants[layer];
            float[] s = scales[layer];
            float sum = 0;
            for (int g = 0; g < n / group; g++) {
                int base = slot * kvDim + headOff + g * group;
                float partial = 0;
                for (int i = 0; i < group; i++) partial += q[base + i] * x[xOff + g * group + i];
                sum += partial * s[(slot * kvDim + headOff) / group + g];
            }
            return sum;
        }

        void axpy(int layer, int slot, int headOff, float weight, float[] y, int yOff, int n) {
            byte[] q = quants[layer];
            float[] s = scales[layer];
            for (int g = 0; g < n / group; g++) {
                int base = slot * kvDim + headOff + g * group;
                float w = weight * s[(slot * kvDim + headOff) / group + g];
                for (int i = 0; i < group; i++) y[yOff + g * group + i] += w * q[base + i];
            }
        }
    }
}
