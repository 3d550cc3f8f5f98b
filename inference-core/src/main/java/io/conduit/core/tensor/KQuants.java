package io.conduit.core.tensor;

/** Scale search helpers of ggml's k-quant reference quantizers (ggml-quants.c), shared by Q4_K and Q6_K. */
final class KQuants {
    private KQuants() {}

    /** Below this largest magnitude a group counts as all zero (ggml GROUP_MAX_EPS). */
    static final float GROUP_MAX_EPS = 1e-15f;

    /**
     * ggml make_qkx2_quants: fits x[xOff..xOff+n) ~ scale*L - min with L in 0..nmax, trying nstep+1 candidate
     * inverse scales around nmax/(max-min) and keeping the weighted least-squares best. Writes L to
     * l[lOff..lOff+n), the (positive) min to theMin[0], returns the scale.
     */
    static float makeQkx2Quants(int n, int nmax, float[] x, int xOff, float[] weights, int[] l, int lOff,
                                float[] theMin, int[] laux, float rmin, float rdelta, int nstep) {
        float min = x[xOff];
        float max = x[xOff];
        float sumW = weights[0];
        float sumX = sumW * x[xOff];
        for (int i = 1; i < n; i++) {
            float v = x[xOff + i];
            if (v < min) min = v;
            if (v > max) max = v;
            sumW += weights[i];
            sumX += weights[i] * v;
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) l[lOff + i] = 0;
            theMin[0] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int q = Math.max(0, Math.min(nmax, Codecs.nearestInt(iscale * (x[xOff + i] - min))));
            l[lOff + i] = q;
            float diff = scale * q + min - x[xOff + i];
            bestError += weights[i] * diff * diff;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int q = Math.max(0, Math.min(nmax, Codecs.nearestInt(iscale * (x[xOff + i] - min))));
                laux[i] = q;
                float w = weights[i];
                sumL += w * q;
                sumL2 += w * q * q;
                sumXL += w * q * x[xOff + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float err = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * laux[i] + thisMin - x[xOff + i];
                    err += weights[i] * diff * diff;
                }
                if (err < bestError) {
                    System.arraycopy(laux, 0, l, lOff, n);
                    bestError = err;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[0] = -min;
        return scale;
    }

    /**
     * ggml make_qx_quants with rmse_type 1 (weights x^2) and no importance weights: fits x ~ scale*(L-nmax),
     * L in 0..2*nmax-1, trying inverse scales -(nmax + 0.1*is)/max for is in -9..9. Returns the scale
     * (negative when the largest-magnitude value is positive, as in ggml).
     */
    static float makeQxQuants(int n, int nmax, float[] x, int xOff, int[] l, int lOff) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xOff + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xOff + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) l[lOff + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            int q = Math.max(-nmax, Math.min(nmax - 1, Codecs.nearestInt(iscale * v)));
            l[lOff + i] = q + nmax;
            float w = v * v;
            sumLX += w * v * q;
            sumL2 += w * q * q;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumLX = 0;
            sumL2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xOff + i];
                int q = Math.max(-nmax, Math.min(nmax - 1, Codecs.nearestInt(iscale * v)));
                float w = v * v;
                sumLX += w * v * q;
                sumL2 += w * q * q;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++) {
                    int q = Codecs.nearestInt(iscale * x[xOff + i]);
                    l[lOff + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, q));
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }
}
