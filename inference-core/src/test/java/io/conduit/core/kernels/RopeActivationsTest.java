package io.conduit.core.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.conduit.core.model.RopeConfig;
import io.conduit.core.model.RopeLayout;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The cached RoPE table and the parallel SwiGLU give exactly the bits of their scalar references. */
class RopeActivationsTest {
    @Test
    void cachedRopeEqualsPerCallFormulaAtAnyPositionOrder() {
        for (RopeLayout layout : RopeLayout.values()) {
            Rope rope = new Rope(RopeConfig.plain(10000.0, 48, layout));
            Random rnd = new Random(3);
            for (int pos : new int[]{5, 0, 63, 64, 1000, 7, 4097}) {
                float[] a = new float[3 * 48 + 5];
                for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
                float[] b = a.clone();
                rope.apply(a, 5, 3, 48, pos);
                rope.applyReference(b, 5, 3, 48, pos);
                assertThat(a).as("%s pos %d", layout, pos).containsExactly(b);
            }
        }
    }

    @Test
    void parallelSwiGluEqualsScalarLoop() {
        int n = 100_003;
        Random rnd = new Random(9);
        float[] gate = new float[n];
        float[] up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (4 * rnd.nextGaussian());
            up[i] = (float) rnd.nextGaussian();
        }
        float[] g2 = gate.clone();
        Activations.swiGlu(gate, up, n);
        Activations.swiGluReference(g2, up, 0, n);
        assertThat(gate).containsExactly(g2);
    }
}
