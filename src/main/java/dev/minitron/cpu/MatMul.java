package dev.minitron.cpu;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.minitron.cpu.VecDot.F;
import static dev.minitron.cpu.VecDot.L;

/**
 * {@code y = x W^T} for a weight matrix {@code W [rows, cols]} read in place from the mapped file, and
 * {@code T} activation rows {@code x [T, cols]} (row-major float32): {@code y[t, r] = sum_c W[r, c] x[t, c]}.
 *
 * <p>Decode ({@code T = 1}) is memory-bound: each thread streams its share of the rows once, dotting them in
 * their own dtype ({@link VecDot}). Prefill ({@code T > 1}) is compute-bound: each thread converts a block of
 * {@value #ROWS} rows to float32 once and reuses it for every token, with a {@value #ROWS} x 2 register tile
 * (8 accumulators) so each loaded vector feeds several FMAs.
 */
public final class MatMul {
    private MatMul() {}

    static final int ROWS = 4;
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    public static void matMul(Tensor w, float[] x, int tokens, float[] y, Parallel par) {
        int rows = w.rows(), cols = w.cols();
        if (x.length < (long) tokens * cols || y.length < (long) tokens * rows) {
            throw new IllegalArgumentException(w.name() + ": buffers too small for " + tokens + " tokens");
        }
        boolean paired = w.dtype() == DType.BF16 && VecDot.pairedBf16(cols);
        float[] xs = paired ? VecDot.permuteForBf16(x, tokens, cols) : x;
        if (tokens == 1) {
            boolean q8 = w.dtype() == DType.Q8_0 && VecDot.L == 16;
            par.forRanges(rows, 16, (from, to) -> {
                int r = from;
                if (q8) {
                    // Q8_0: two rows per step (from+i and from+half+i) share the activation loads; measured
                    // 11.8 -> 16 GB/s per core. For bf16 the same made no difference (memory-bound), so it reads one row.
                    int half = (to - from) / 2;
                    long rb = w.rowBytes();
                    for (int i = 0; i < half; i++) {
                        int ra = from + i, rb2 = from + half + i;
                        VecDot.dotQ8_0x2(w.data(), ra * rb, rb2 * rb, x, cols, y, ra, rb2);
                    }
                    r = from + 2 * half;
                }
                for (; r < to; r++) y[r] = paired ? VecDot.dotBF16Paired(w.data(), r * w.rowBytes(), xs, 0, cols) : VecDot.dot(w, r, x, 0);
            });
            return;
        }
        par.forRanges(rows, ROWS, (from, to) -> {
            float[][] holder = SCRATCH.get();
            if (holder[0].length < ROWS * cols) holder[0] = new float[ROWS * cols];
            float[] wt = holder[0];
            for (int r0 = from; r0 < to; r0 += ROWS) {
                int nr = Math.min(ROWS, to - r0);
                for (int i = 0; i < nr; i++) {
                    if (paired) VecDot.readRowBf16Paired(w.data(), (r0 + i) * w.rowBytes(), wt, i * cols, cols);
                    else VecDot.readRow(w, r0 + i, wt, i * cols);
                }
                if (nr == ROWS && cols % L == 0) {
                    tile4(wt, cols, xs, tokens, y, rows, r0);
                } else {
                    for (int t = 0; t < tokens; t++) {
                        for (int i = 0; i < nr; i++) y[t * rows + r0 + i] = VecDot.dot(wt, i * cols, xs, t * cols, cols);
                    }
                }
            }
        });
    }

    /** Four weight rows (already float32 in {@code wt}) against every token, two tokens at a time. */
    private static void tile4(float[] wt, int cols, float[] x, int tokens, float[] y, int rows, int r0) {
        int o1 = cols, o2 = 2 * cols, o3 = 3 * cols;
        int t = 0;
        for (; t + 1 < tokens; t += 2) {
            int xa = t * cols, xb = xa + cols;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int c = 0; c < cols; c += L) {
                FloatVector xv = FloatVector.fromArray(F, x, xa + c);
                FloatVector xw = FloatVector.fromArray(F, x, xb + c);
                FloatVector w0 = FloatVector.fromArray(F, wt, c);
                FloatVector w1 = FloatVector.fromArray(F, wt, o1 + c);
                FloatVector w2 = FloatVector.fromArray(F, wt, o2 + c);
                FloatVector w3 = FloatVector.fromArray(F, wt, o3 + c);
                a0 = w0.fma(xv, a0); a1 = w1.fma(xv, a1); a2 = w2.fma(xv, a2); a3 = w3.fma(xv, a3);
                b0 = w0.fma(xw, b0); b1 = w1.fma(xw, b1); b2 = w2.fma(xw, b2); b3 = w3.fma(xw, b3);
            }
            int ya = t * rows + r0, yb = ya + rows;
            y[ya] = a0.reduceLanes(VectorOperators.ADD); y[ya + 1] = a1.reduceLanes(VectorOperators.ADD);
            y[ya + 2] = a2.reduceLanes(VectorOperators.ADD); y[ya + 3] = a3.reduceLanes(VectorOperators.ADD);
            y[yb] = b0.reduceLanes(VectorOperators.ADD); y[yb + 1] = b1.reduceLanes(VectorOperators.ADD);
            y[yb + 2] = b2.reduceLanes(VectorOperators.ADD); y[yb + 3] = b3.reduceLanes(VectorOperators.ADD);
        }
        for (; t < tokens; t++) {
            for (int i = 0; i < ROWS; i++) y[t * rows + r0 + i] = VecDot.dot(wt, i * cols, x, t * cols, cols);
        }
    }
}
