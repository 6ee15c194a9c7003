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
 * their own dtype ({@link VecDot}; Q4_K and Q6_K through {@code QuantKernels}' lane-order kernels, on activations
 * reordered once per call into a reused array that starts a cache line ({@link LineAligned}: 10% of a Q4_K_M decode),
 * two rows per call or four for rows wider than {@code QuantKernels.WIDE_ROWS}).
 * Prefill ({@code T > 1}) is compute-bound: each thread converts a block of {@value #BLOCK} rows to float32 once
 * and reuses it for every token, with a {@value #ROWS} x 4 register tile (see {@link #quad4}) so each loaded
 * vector feeds several FMAs. Measured on a Minitron-4B Q8_0 prefill of 128 tokens, 2 threads: blocks of 4 rows
 * 19.6 tokens/s, 16 rows 20.9, 32 rows 19.2.
 */
public final class MatMul {
    private MatMul() {}

    static final int ROWS = 4;
    /**
     * Below this many tokens, Q4_K and Q6_K weights go through the decode kernels token by token. Measured on the
     * 4B Q4_K_M model, 2 threads: prefill of 2, 4, 8, 16 tokens took 1.7, 1.5, 2.0, 1.8 s (converting the
     * weights dominates), against about 0.125 s per token decoding.
     */
    static final int LANE_BATCH = 16;
    /** Rows converted to float32 at a time in prefill (16 x 3072 floats = 192 KB: fits the L2 cache). */
    static final int BLOCK = 16;
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);
    /** Per calling thread: the lane kernels' reordered activations, reused, at the start of a cache line ({@link LineAligned}). */
    private static final ThreadLocal<float[][]> LANES = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] lanesScratch(int cols) {
        float[][] holder = LANES.get();
        int need = QuantKernels.lanesLength(cols);
        if (holder[0].length < need || !LineAligned.isAligned(holder[0])) holder[0] = LineAligned.array(Math.max(need, holder[0].length));
        return holder[0];
    }

    public static void matMul(Tensor w, float[] x, int tokens, float[] y, Parallel par) {
        int rows = w.rows(), cols = w.cols();
        if (x.length < (long) tokens * cols || y.length < (long) tokens * rows) {
            throw new IllegalArgumentException(w.name() + ": buffers too small for " + tokens + " tokens");
        }
        if (tokens > 1 && tokens < LANE_BATCH && QuantKernels.hasLaneKernel(w.dtype())) {
            // a few tokens: the lane kernels once per token beat converting every super-block to float32
            float[] xt = new float[cols], yt = new float[rows];
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(x, t * cols, xt, 0, cols);
                matMul(w, xt, 1, yt, par);
                System.arraycopy(yt, 0, y, t * rows, rows);
            }
            return;
        }
        if (tokens == 1) {
            if (QuantKernels.hasLaneKernel(w.dtype())) {
                // activations reordered once for all rows (QuantKernels: lane-order kernels)
                float[] xp = QuantKernels.prepareLanes(w.dtype(), x, cols, lanesScratch(cols));
                long rb = w.rowBytes();
                int per = cols > QuantKernels.WIDE_ROWS ? 4 : 2;   // rows per call
                par.forRanges(rows, 16, (from, to) -> {
                    // rows from+i, from+q+i, ... per call: separate memory streams; a leftover row alone (step 0)
                    int q = (to - from) / per;
                    for (int i = 0; i < q; i++) {
                        QuantKernels.dotLanes(w.dtype(), per, w.data(), (from + i) * rb, q * rb, xp, cols, y, from + i, q);
                    }
                    for (int r = from + per * q; r < to; r++) {
                        QuantKernels.dotLanes(w.dtype(), 2, w.data(), r * rb, 0, xp, cols, y, r, 0);
                    }
                });
                return;
            }
            boolean paired = w.dtype() == DType.BF16 && VecDot.pairedBf16(cols);
            float[] xs = paired ? VecDot.permuteForBf16(x, cols) : x;
            boolean q8 = w.dtype() == DType.Q8_0 && VecDot.L == 16, q4 = w.dtype() == DType.Q4_0 && VecDot.L == 16;
            boolean twoRows = paired || q8 || q4;
            par.forRanges(rows, 16, (from, to) -> {
                int r = from;
                if (twoRows) {
                    // Two rows per step (from+i and from+half+i) share the activation loads and keep two memory
                    // streams in flight. Measured per core: Q8_0 11.8 -> 16 GB/s; BF16 decode on the 4B shape,
                    // 2 threads, alternating runs: 3.23-3.54 -> 4.16-4.18 tokens/s (one run 3.52).
                    int half = (to - from) / 2;
                    long rb = w.rowBytes();
                    for (int i = 0; i < half; i++) {
                        int ra = from + i, rb2 = from + half + i;
                        if (paired) VecDot.dotBF16x2(w.data(), ra * rb, rb2 * rb, xs, cols, y, ra, rb2);
                        else if (q8) VecDot.dotQ8_0x2(w.data(), ra * rb, rb2 * rb, x, cols, y, ra, rb2);
                        else QuantKernels.dotQ4_0x2(w.data(), ra * rb, rb2 * rb, x, cols, y, ra, rb2);
                    }
                    r = from + 2 * half;
                }
                for (; r < to; r++) y[r] = paired ? VecDot.dotBF16Paired(w.data(), r * w.rowBytes(), xs, 0, cols) : VecDot.dot(w, r, x, 0);
            });
            return;
        }
        par.forRanges(rows, BLOCK, (from, to) -> {
            float[][] holder = SCRATCH.get();
            if (holder[0].length < BLOCK * cols) holder[0] = new float[BLOCK * cols];
            float[] wt = holder[0];
            for (int r0 = from; r0 < to; r0 += BLOCK) {
                int nr = Math.min(BLOCK, to - r0);
                for (int i = 0; i < nr; i++) VecDot.readRow(w, r0 + i, wt, i * cols);
                if (nr % ROWS == 0 && cols % L == 0) {
                    tileBlock(wt, nr, cols, x, tokens, y, rows, r0);
                } else {
                    for (int t = 0; t < tokens; t++) {
                        for (int i = 0; i < nr; i++) y[t * rows + r0 + i] = VecDot.dot(wt, i * cols, x, t * cols, cols);
                    }
                }
            }
        });
    }

    /**
     * A block of {@code nr} float32 rows against every token: for each group of four tokens (the last one to
     * three tokens singly), every group of four rows in turn, so the group's activations stay in the L1/L2 cache
     * while the block's rows stream past them.
     */
    private static void tileBlock(float[] wt, int nr, int cols, float[] x, int tokens, float[] y, int rows, int r0) {
        int t = 0;
        for (; t + 3 < tokens; t += 4) {
            for (int g = 0; g < nr; g += ROWS) quad4(wt, g * cols, cols, x, t * cols, y, t * rows + r0 + g, rows);
        }
        for (; t < tokens; t++) {
            for (int i = 0; i < nr; i++) y[t * rows + r0 + i] = VecDot.dot(wt, i * cols, x, t * cols, cols);
        }
    }

    /**
     * Four weight rows at {@code wt[w0..]} against four tokens at {@code x[xa..]}: 16 accumulators, 8 loads per 16
     * FMAs. Measured (one thread, 16-row blocks of 3072 floats, 128 tokens): 85 GFLOP/s, 73% of the FMA peak,
     * against 64 for a 4 x 2 tile; 4 x 6, 6 x 4, 3 x 8 and 8 x 3 tiles (24 accumulators) fell to 52-62.
     */
    private static void quad4(float[] wt, int w0, int cols, float[] x, int xa, float[] y, int ya, int rows) {
        int o1 = w0 + cols, o2 = w0 + 2 * cols, o3 = w0 + 3 * cols, xb = xa + cols, xc = xb + cols, xd = xc + cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, d0 = a0, d1 = a0, d2 = a0, d3 = a0;
        for (int c = 0; c < cols; c += L) {
            FloatVector w0v = FloatVector.fromArray(F, wt, w0 + c);
            FloatVector w1 = FloatVector.fromArray(F, wt, o1 + c);
            FloatVector w2 = FloatVector.fromArray(F, wt, o2 + c);
            FloatVector w3 = FloatVector.fromArray(F, wt, o3 + c);
            FloatVector xv = FloatVector.fromArray(F, x, xa + c);
            a0 = w0v.fma(xv, a0); a1 = w1.fma(xv, a1); a2 = w2.fma(xv, a2); a3 = w3.fma(xv, a3);
            xv = FloatVector.fromArray(F, x, xb + c);
            b0 = w0v.fma(xv, b0); b1 = w1.fma(xv, b1); b2 = w2.fma(xv, b2); b3 = w3.fma(xv, b3);
            xv = FloatVector.fromArray(F, x, xc + c);
            c0 = w0v.fma(xv, c0); c1 = w1.fma(xv, c1); c2 = w2.fma(xv, c2); c3 = w3.fma(xv, c3);
            xv = FloatVector.fromArray(F, x, xd + c);
            d0 = w0v.fma(xv, d0); d1 = w1.fma(xv, d1); d2 = w2.fma(xv, d2); d3 = w3.fma(xv, d3);
        }
        store4(y, ya, a0, a1, a2, a3);
        store4(y, ya + rows, b0, b1, b2, b3);
        store4(y, ya + 2 * rows, c0, c1, c2, c3);
        store4(y, ya + 3 * rows, d0, d1, d2, d3);
    }

    private static void store4(float[] y, int at, FloatVector s0, FloatVector s1, FloatVector s2, FloatVector s3) {
        y[at] = s0.reduceLanes(VectorOperators.ADD);
        y[at + 1] = s1.reduceLanes(VectorOperators.ADD);
        y[at + 2] = s2.reduceLanes(VectorOperators.ADD);
        y[at + 3] = s3.reduceLanes(VectorOperators.ADD);
    }
}
