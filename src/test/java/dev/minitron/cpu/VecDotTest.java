package dev.minitron.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class VecDotTest {
    /**
     * The attention-weighted sum keeps its accumulators in registers but must equal, bit for bit, the row-by-row
     * axpy it replaced (head sizes with and without a remainder below four vectors, strided rows, offsets).
     */
    @ParameterizedTest(name = "rows={0} dim={1}")
    @CsvSource({"1, 128", "37, 128", "300, 64", "9, 80", "5, 16", "3, 7"})
    void weightedSumEqualsRepeatedAxpy(int rows, int dim) {
        SplittableRandom r = new SplittableRandom(rows * 131L + dim);
        int stride = dim + 5, vOff = 3, wOff = 2, outOff = 4;
        float[] v = new float[vOff + rows * stride], w = new float[wOff + rows];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextDouble();
        float[] want = new float[outOff + dim + 3], got = new float[want.length];
        Arrays.fill(got, 42f);
        for (int p = 0; p < rows; p++) VecDot.axpy(w[wOff + p], v, vOff + p * stride, want, outOff, dim);
        VecDot.weightedSum(w, wOff, rows, v, vOff, stride, got, outOff, dim);
        assertArrayEquals(Arrays.copyOfRange(want, outOff, outOff + dim), Arrays.copyOfRange(got, outOff, outOff + dim));
        for (int i = 0; i < got.length; i++) if (i < outOff || i >= outOff + dim) assertEquals(42f, got[i], "written outside at " + i);
    }

    /** Softmax (vector exponentials) against a double-precision softmax: within 1e-6 relative, in place. */
    @ParameterizedTest(name = "n={0}")
    @CsvSource({"1", "15", "16", "17", "300", "1024"})
    void softmaxMatchesDouble(int n) {
        SplittableRandom r = new SplittableRandom(n);
        int off = 3;
        float[] s = new float[off + n + 2];
        for (int i = 0; i < s.length; i++) s[i] = (float) (r.nextGaussian() * 8);
        float[] before = s.clone();
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int p = 0; p < n; p++) max = Math.max(max, before[off + p]);
        for (int p = 0; p < n; p++) sum += Math.exp(before[off + p] - max);
        VecDot.softmax(s, off, n);
        for (int p = 0; p < n; p++) {
            double want = Math.exp(before[off + p] - max) / sum;
            assertEquals(want, s[off + p], 1e-6 * want + 1e-12, "position " + p);
        }
        for (int i = 0; i < s.length; i++) if (i < off || i >= off + n) assertEquals(before[i], s[i], "written outside at " + i);
    }
}
