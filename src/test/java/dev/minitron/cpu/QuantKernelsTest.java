package dev.minitron.cpu;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import dev.minitron.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The quantized dot kernels against a reference: the row dequantized by the scalar {@code KQuants} code
 * (bit-exact with ggml, see {@code KQuantsTest}) and dotted in double precision.
 *
 * <p>Tolerance: {@code |kernel - reference| <= 1e-5 * sum |w_i x_i|}. The kernels accumulate in float32
 * (relative rounding 6e-8 per operation) and apply scales per block or sub-block rather than per weight; the
 * error of a float32 sum of n terms is bounded by about {@code n * 6e-8 * sum|terms|} in the worst case and is
 * typically {@code sqrt(n) * 6e-8}; with 16 or 8 lanes each lane sums at most 3072 / 8 = 384 terms, and the
 * K-quant mins ({@code d*sc*sum(q x) - dmin*m*sum(x)}) can cancel to a few times less than the magnitudes summed.
 * 1e-5 leaves a margin of over 10x on the typical error, while any layout mistake (a nibble or bit plane in the
 * wrong place, a wrong scale) gives errors of order 1e-1 of the sum.
 */
class QuantKernelsTest {
    static final double REL = 1e-5;

    /** Offsets (bytes) of the half-precision scale fields in one block of each type. */
    static int[] halfFields(DType t) {
        return switch (t) {
            case Q4_0, Q5_0, Q8_0 -> new int[]{0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[]{0, 2};
            case Q2_K -> new int[]{80, 82};
            case Q3_K -> new int[]{108};
            case Q6_K -> new int[]{208};
            default -> throw new IllegalArgumentException(t.toString());
        };
    }

    /**
     * {@code rows} rows of {@code n} weights of type {@code t} starting at byte {@code base} of a fresh native
     * segment: random bytes, except that the half fields get finite scales of either sign in [1e-3, 1e-1) (or, with
     * {@code pattern} 0x00 / 0xFF, every other byte is that constant).
     */
    static MemorySegment randomRows(Arena arena, DType t, int rows, int n, long base, Random rnd, int pattern) {
        long bytes = t.bytesFor((long) rows * n);
        MemorySegment s = arena.allocate(base + bytes + 64);
        for (long i = 0; i < s.byteSize(); i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (pattern < 0 ? rnd.nextInt(256) : pattern));
        }
        long blocks = bytes / t.blockBytes();
        for (long b = 0; b < blocks; b++) {
            for (int f : halfFields(t)) {
                float v = (float) (Math.exp(Math.log(1e-3) + rnd.nextDouble() * Math.log(100)) * (rnd.nextBoolean() ? 1 : -1));
                s.set(ValueLayout.JAVA_SHORT_UNALIGNED, base + b * t.blockBytes() + f, Float.floatToFloat16(v));
            }
        }
        return s;
    }

    static float[] randomX(int len, Random rnd) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    /** Asserts that the kernel agrees with the dequantize-then-double-dot reference on one row. */
    static void check(DType t, MemorySegment s, long off, float[] x, int xOff, int n, String what) {
        check(t, s, off, x, xOff, n, QuantKernels.dot(t, s, off, x, xOff, n), what);
    }

    /** Asserts that {@code got} agrees with the dequantize-then-double-dot reference on one row. */
    static void check(DType t, MemorySegment s, long off, float[] x, int xOff, int n, float got, String what) {
        float[] w = new float[n];
        Dequant.dequantize(t, s, off, w, 0, n);
        double ref = 0, mag = 0;
        for (int i = 0; i < n; i++) {
            ref += (double) w[i] * x[xOff + i];
            mag += Math.abs((double) w[i] * x[xOff + i]);
        }
        double r = ref;
        double err = Math.abs(got - r), bound = REL * mag;
        assertTrue(err <= bound, () -> t + " " + what + ": kernel " + got + ", reference " + r
                + ", |diff| / sum|wx| = " + err / bound * REL);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void randomRowsAtOffsets(DType t) {
        Random rnd = new Random(1234 + t.ordinal());
        for (int n : new int[]{256, 512, 3072}) {
            for (long base : new long[]{0, 7, 64}) {
                int rows = 3;
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment s = randomRows(arena, t, rows, n, base, rnd, -1);
                    float[] x = randomX(n + 19, rnd);
                    long rowBytes = t.bytesFor(n);
                    for (int r = 0; r < rows; r++) {
                        for (int xOff : new int[]{0, 19}) {
                            check(t, s, base + r * rowBytes, x, xOff, n, "n=" + n + " base=" + base + " row=" + r + " xOff=" + xOff);
                        }
                    }
                }
            }
        }
    }

    /** All-zero and all-one quant bits: the extremes of every bit field (and every sign of the Q3_K high bit). */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void constantBitPatterns(DType t) {
        Random rnd = new Random(99);
        for (int pattern : new int[]{0x00, 0xFF, 0x55, 0xAA}) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment s = randomRows(arena, t, 1, 512, 0, rnd, pattern);
                float[] x = randomX(512, rnd);
                check(t, s, 0, x, 0, 512, "pattern " + Integer.toHexString(pattern));
            }
        }
    }

    /** One-hot activations: each weight's contribution alone, so a misplaced weight shows up at its index. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void eachWeightInPlace(DType t) {
        eachWeight(t, 256, 7, (s, x, n) -> QuantKernels.dot(t, s, 0, x, 0, n));
    }

    /** The same for the lane-order kernels, which also pick each weight's scales per lane and permute activations. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q6_K"})
    void laneKernelsEachWeight(DType t) {
        assumeTrue(QuantKernels.hasLaneKernel(t), "needs 512-bit vectors");
        eachWeight(t, 512, 11, (s, x, n) -> {
            float[] y = new float[1];
            QuantKernels.dotLanes(t, 2, s, 0, 0, QuantKernels.prepareLanes(t, x, n), n, y, 0, 0);   // the same row twice
            return y[0];
        });
    }

    /**
     * The four-row kernels (rows wider than {@link QuantKernels#WIDE_ROWS}) repeat the two-row kernels' operations
     * per row: both agree with the reference on every row, whichever rows share a call.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q6_K"})
    void fourRowKernels(DType t) {
        assumeTrue(QuantKernels.hasLaneKernel(t), "needs 512-bit vectors");
        Random rnd = new Random(13);
        int rows = 8, n = 1024;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = randomRows(arena, t, rows, n, 0, rnd, -1);
            float[] x = randomX(n, rnd), xp = QuantKernels.prepareLanes(t, x, n);
            long rb = t.bytesFor(n);
            float[] two = new float[rows], four = new float[rows];
            for (int i = 0; i < rows / 2; i++) QuantKernels.dotLanes(t, 2, s, i * rb, rows / 2 * rb, xp, n, two, i, rows / 2);
            for (int i = 0; i < rows / 4; i++) QuantKernels.dotLanes(t, 4, s, i * rb, rows / 4 * rb, xp, n, four, i, rows / 4);
            for (int r = 0; r < rows; r++) {
                check(t, s, r * rb, x, 0, n, two[r], "two rows per call, row " + r);
                check(t, s, r * rb, x, 0, n, four[r], "four rows per call, row " + r);
            }
        }
    }

    private interface RowDot {
        float dot(MemorySegment s, float[] x, int n);
    }

    private static void eachWeight(DType t, int n, long seed, RowDot kernel) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = randomRows(arena, t, 1, n, 0, new Random(seed), -1);
            float[] w = new float[n];
            Dequant.dequantize(t, s, 0, w, 0, n);
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = 1;
                float got = kernel.dot(s, x, n);
                assertEquals(w[i], got, Math.abs(w[i]) * 1e-6f, t + ": weight " + i);
                x[i] = 0;
            }
        }
    }

    /** The decode path of MatMul ({@code T = 1}) dispatches quantized tensors to these kernels. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_0", "Q4_K", "Q6_K"})
    void matMulDecode(DType t) {
        // 512 columns: two rows per lane-kernel call; 4352 (17 super-blocks): four, past QuantKernels.WIDE_ROWS
        for (int cols : new int[]{512, 4352}) {
            Random rnd = new Random(5);
            int rows = 37;
            try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
                MemorySegment s = randomRows(arena, t, rows, cols, 0, rnd, -1).asSlice(0, t.bytesFor((long) rows * cols));
                Tensor w = new Tensor("w", t, new long[]{rows, cols}, s);
                float[] x = randomX(cols, rnd);
                float[] y = new float[rows];
                MatMul.matMul(w, x, 1, y, par);
                for (int r = 0; r < rows; r++) {
                    // the two-row Q4_0 kernel repeats the one-row kernel's operations (up to the order of the final lane
                    // sum, which differs between compiled and interpreted code); the lane-order kernels sum in another order
                    if (!QuantKernels.hasLaneKernel(t)) {
                        float one = QuantKernels.dot(t, s, r * w.rowBytes(), x, 0, cols);
                        assertEquals(one, y[r], Math.abs(one) * 1e-6f, "row " + r);
                    }
                    check(t, s, r * w.rowBytes(), x, 0, cols, y[r], cols + " columns, matMul row " + r);
                }
            }
        }
    }

    /**
     * MatMul reuses one buffer for the reordered activations of every lane-kernel call on a thread: a Q4_K call right
     * after a Q6_K one of the same width must not see the Q6_K sums where its mins vector has zeros.
     */
    @Test
    void laneBufferReusedAcrossTypes() {
        int rows = 8, cols = 512;
        Random rnd = new Random(9);
        float[] x = randomX(cols, rnd);
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
            for (DType t : new DType[]{DType.Q6_K, DType.Q4_K, DType.Q6_K}) {
                MemorySegment s = randomRows(arena, t, rows, cols, 0, rnd, -1).asSlice(0, t.bytesFor((long) rows * cols));
                Tensor w = new Tensor("w", t, new long[]{rows, cols}, s);
                float[] y = new float[rows];
                MatMul.matMul(w, x, 1, y, par);
                for (int r = 0; r < rows; r++) check(t, s, r * w.rowBytes(), x, 0, cols, y[r], t + " after another type, row " + r);
            }
        }
    }
}
