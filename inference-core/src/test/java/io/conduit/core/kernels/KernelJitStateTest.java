package io.conduit.core.kernels;

import io.conduit.core.kv.KvCache;
import io.conduit.core.model.Architecture;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.model.RopeConfig;
import io.conduit.core.model.RopeLayout;
import io.conduit.core.tensor.GgmlType;
import io.conduit.core.tensor.LaneRows;
import io.conduit.core.tensor.TensorCodec;
import io.conduit.core.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The non-matmul kernels (Exp, SwiGLU, softmax, the KV cache's block reads) and the lane matmul kernels (Q8_0,
 * Q4_0 and Q4_K nibbles, Q6_K at batch 1 and 5) give the same bits interpreted, in C1 only, and in C2: a child JVM runs the same fixed inputs under each mode and prints a hash of every output bit.
 * (With the Vector API the interpreter and C1 run the Java fallback of each operation, C2 the intrinsics.)
 */
class KernelJitStateTest {
    /** A hash of every output bit of the kernels on fixed inputs ({@code matmul}: the lane matmuls too). */
    static long probe(boolean matmul) {
        long h = 17;
        float[] x = ExpTest.inputs(5, 2048 + 3);
        for (float v : x) h = mix(h, Exp.exp(v));
        float[] y = new float[x.length];
        jdk.incubator.vector.VectorSpecies<Float> f = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        for (int i = 0; i + f.length() <= x.length; i += f.length()) {
            Exp.exp(jdk.incubator.vector.FloatVector.fromArray(f, x, i)).intoArray(y, i);
        }
        for (float v : y) h = mix(h, v);

        float[] gate = ExpTest.inputs(6, 3 * 517), up = ExpTest.inputs(7, 3 * 517);
        Activations.swiGlu(gate, up, 3, 517);
        for (float v : gate) h = mix(h, v);

        Random rnd = new Random(8);
        for (int n : new int[]{1, 15, 16, 33, 200}) {
            float[] s = new float[n + 20];
            for (int i = 0; i < s.length; i++) s[i] = (float) (rnd.nextGaussian() * 10);
            Activations.softmax(s, 2, n, 0.125f);
            for (float v : s) h = mix(h, v);
        }

        int hd = 64, heads = 6, kvHeads = 2, group = 3, blockSize = 16;
        ModelConfig c = new ModelConfig(Architecture.LLAMA, heads * hd, 1, heads, kvHeads, hd, 64, 100, 4096, 1e-5f,
                RopeConfig.plain(10000, hd, RopeLayout.HALF_SPLIT), false, false, 0);
        KvCache kv = new KvCache(c, 3, blockSize);
        float[] k = new float[kvHeads * hd], v = new float[kvHeads * hd];
        for (int slot = 0; slot < 3 * blockSize; slot++) {
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) rnd.nextGaussian();
                v[i] = (float) rnd.nextGaussian();
            }
            kv.store(0, slot, k, 0, v, 0);
        }
        float[] q = new float[heads * hd];
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        int stride = 2 * blockSize;
        float[] scores = new float[group * stride];
        float[] out = new float[heads * hd];
        for (int block = 0; block < 3; block++) {
            for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
                kv.keyScores(0, block, 0, block == 2 ? 7 : blockSize, kvHead * hd, q, kvHead * group * hd, group, hd, scores, 0, stride);
                for (int i = 0; i < scores.length; i++) h = mix(h, i % stride < (block == 2 ? 7 : blockSize) ? scores[i] : 0f);
                kv.addValues(0, block, 0, block == 2 ? 7 : blockSize, kvHead * hd, scores, 0, stride, group, out, kvHead * group * hd, hd);
            }
        }
        for (float o : out) h = mix(h, o);

        // The lane matmul kernels (batch 1 and batched) for each lane-copy type.
        for (GgmlType type : matmul ? new GgmlType[]{GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K} : new GgmlType[0]) {
            LaneRows lanes = LaneRows.pack(matrix(type, 131, 256, rnd), Dequant.L, true);
            if (lanes == null || !LaneMatMul.runs(lanes)) continue;
            for (int batch : new int[]{1, 5}) {
                float[] xs = new float[batch * 256], o = new float[batch * 131];
                for (int i = 0; i < xs.length; i++) xs[i] = (float) rnd.nextGaussian();
                LaneMatMul.matmul(new LaneRows[]{lanes}, xs, batch, new float[][]{o});
                for (float r : o) h = mix(h, r);
            }
        }
        return h;
    }

    /** A rows x cols matrix of random values quantized to {@code type} (in memory that is never freed). */
    private static WeightMatrix matrix(GgmlType type, int rows, int cols, Random rnd) {
        long rowBytes = type.byteSize(cols);
        MemorySegment seg = Arena.ofAuto().allocate(rows * rowBytes);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) row[c] = (float) rnd.nextGaussian();
            TensorCodec.of(type).quantize(row, 0, cols, seg, r * rowBytes);
        }
        return WeightMatrix.of("w", seg, 0, type, rows, cols);
    }

    private static long mix(long h, float v) {
        return h * 0x100000001B3L ^ Float.floatToRawIntBits(v);
    }

    /** Child entry point: args[0] = how many times to run the probe first (so C2 compiles it), then prints the hash. */
    public static void main(String[] args) {
        int warm = Integer.parseInt(args[0]);
        long h = 0;
        // The matmuls (far heavier) every 4th warm-up run: their loops reach C2 long before the rest does.
        for (int i = 0; i <= warm; i++) h = probe(i == warm || i % 4 == 0);
        System.out.println("probe " + Long.toHexString(h));
    }

    @Test
    void interpreterC1AndC2GiveTheSameBits() throws Exception {
        String expected = "probe " + Long.toHexString(probe(true));
        List<String> modes = List.of("-Xint", "-XX:TieredStopAtLevel=1", "-XX:-TieredCompilation");
        for (String mode : modes) {
            // -Xbatch: compile in the foreground, so the warm-up runs really end in compiled code.
            String warm = mode.equals("-Xint") ? "0" : "3000";
            assertThat(child(mode, warm)).as(mode).isEqualTo(expected);
        }
    }

    private static String child(String mode, String warm) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", mode, "-Xbatch", "-cp", System.getProperty("java.class.path"),
                KernelJitStateTest.class.getName(), warm));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("child finished").isTrue();
        return output.lines().filter(l -> l.startsWith("probe ")).findFirst().orElse(output);
    }
}
