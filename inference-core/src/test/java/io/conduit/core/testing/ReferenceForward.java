package io.conduit.core.testing;

import io.conduit.core.kernels.MatMul;
import io.conduit.core.model.LayerWeights;
import io.conduit.core.model.ModelConfig;
import io.conduit.core.model.RopeLayout;
import io.conduit.core.tensor.WeightMatrix;
import io.conduit.core.model.LoadedModel;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * A plain float64 Llama forward pass, written for clarity and nothing else: every weight dequantized to
 * double, every sequence recomputed from scratch, no cache, no batching, no vectors. The engine's real
 * path is checked against it. Where the engine multiplies a matrix by int8 activations (Q4_0 with the int16 kernel,
 * llama.cpp's recipe), the reference rounds that matrix's input the same way first: the error that choice makes is
 * measured on its own ({@code NibbleInt16MatMulTest}), and here would hide the wiring errors this pass is for.
 */
public final class ReferenceForward {
    private final ModelConfig c;
    private final double[][] embedding;
    private final double[][] output;
    private final double[] outputNorm;
    private final Layer[] layers;
    /** The matrices whose inputs the engine quantizes to int8 per block of 32. */
    private final Set<double[][]> int8Inputs = Collections.newSetFromMap(new IdentityHashMap<>());

    private record Layer(double[] attnNorm, double[][] wq, double[][] wk, double[][] wv, double[][] wo,
                         double[] bq, double[] bk, double[] bv,
                         double[] ffnNorm, double[][] gate, double[][] up, double[][] down) {
    }

    public ReferenceForward(LoadedModel model) {
        this.c = model.config();
        this.embedding = dense(model.weights().tokenEmbedding());
        this.output = model.weights().output() == model.weights().tokenEmbedding() ? embedding : dense(model.weights().output());
        this.outputNorm = toDouble(model.weights().outputNorm());
        this.layers = new Layer[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            LayerWeights w = model.weights().layers()[l];
            layers[l] = new Layer(toDouble(w.attnNorm()), dense(w.wq()), dense(w.wk()), dense(w.wv()), dense(w.wo()),
                    toDouble(w.bq()), toDouble(w.bk()), toDouble(w.bv()),
                    toDouble(w.ffnNorm()), dense(w.gate()), dense(w.up()), dense(w.down()));
        }
    }

    /** Next-token logits after each position of {@code tokens}: {@code [tokens.length][vocab]}. */
    public double[][] logits(int[] tokens) {
        int n = tokens.length;
        int hd = c.headDim();
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) x[t] = embedding[tokens[t]].clone();
        for (Layer l : layers) {
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] xb = rmsNorm(x[t], l.attnNorm());
                q[t] = add(matVec(l.wq(), xb), l.bq());
                k[t] = add(matVec(l.wk(), xb), l.bk());
                v[t] = add(matVec(l.wv(), xb), l.bv());
                rope(q[t], c.heads(), t);
                rope(k[t], c.kvHeads(), t);
            }
            for (int t = 0; t < n; t++) {
                double[] att = new double[c.heads() * hd];
                for (int h = 0; h < c.heads(); h++) {
                    int kvh = h / (c.heads() / c.kvHeads());
                    int first = c.slidingWindow() > 0 ? Math.max(0, t - c.slidingWindow() + 1) : 0;
                    double[] s = new double[t + 1 - first];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int p = first; p <= t; p++) {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) dot += q[t][h * hd + i] * k[p][kvh * hd + i];
                        s[p - first] = dot / Math.sqrt(hd);
                        max = Math.max(max, s[p - first]);
                    }
                    double sum = 0;
                    for (int i = 0; i < s.length; i++) sum += s[i] = Math.exp(s[i] - max);
                    for (int p = first; p <= t; p++) {
                        for (int i = 0; i < hd; i++) att[h * hd + i] += s[p - first] / sum * v[p][kvh * hd + i];
                    }
                }
                x[t] = add(x[t], matVec(l.wo(), att));
            }
            for (int t = 0; t < n; t++) {
                double[] xb = rmsNorm(x[t], l.ffnNorm());
                double[] g = matVec(l.gate(), xb);
                double[] u = matVec(l.up(), xb);
                for (int i = 0; i < g.length; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                x[t] = add(x[t], matVec(l.down(), g));
            }
        }
        double[][] logits = new double[n][];
        for (int t = 0; t < n; t++) logits[t] = matVec(output, rmsNorm(x[t], outputNorm));
        return logits;
    }

    private void rope(double[] vec, int heads, int pos) {
        int hd = c.headDim();
        int half = c.rope().rotaryDims() / 2;
        double[] inv = c.rope().inverseFrequencies();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                boolean adjacent = c.rope().layout() == RopeLayout.ADJACENT_PAIRS;
                int a = h * hd + (adjacent ? 2 * i : i);
                int b = h * hd + (adjacent ? 2 * i + 1 : i + half);
                double angle = pos * inv[i];
                double x0 = vec[a], x1 = vec[b];
                vec[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                vec[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }

    private double[] rmsNorm(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double scale = 1 / Math.sqrt(ss / x.length + c.rmsEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * scale * w[i];
        return out;
    }

    private double[] matVec(double[][] w, double[] x) {
        if (int8Inputs.contains(w)) x = int8(x);
        double[] out = new double[w.length];
        for (int r = 0; r < w.length; r++) {
            double s = 0;
            for (int i = 0; i < x.length; i++) s += w[r][i] * x[i];
            out[r] = s;
        }
        return out;
    }

    /** x as float, then per block of 32: d = max|x| / 127, values rint(x / d) x d (the engine's int8 activations). */
    private static double[] int8(double[] x) {
        double[] out = new double[x.length];
        for (int b = 0; b < x.length; b += 32) {
            float amax = 0;
            for (int i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs((float) x[i]));
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
            for (int i = b; i < b + 32; i++) out[i] = Math.rint((float) x[i] * id) * (double) d;
        }
        return out;
    }

    private static double[] add(double[] a, double[] b) {
        if (b == null) return a;
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] + b[i];
        return out;
    }

    private double[][] dense(WeightMatrix m) {
        double[][] out = new double[m.rows()][];
        if (MatMul.quantizesActivations(m)) int8Inputs.add(out);
        float[] row = new float[m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, row, 0);
            out[r] = toDouble(row);
        }
        return out;
    }

    private static double[] toDouble(float[] v) {
        if (v == null) return null;
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }
}
