package dev.minitron.cpu;

import dev.minitron.tensor.Dequant;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Dot products of one weight row, read in place from the mapped file in its own dtype, with a float32
 * activation vector, using the Vector API (one method per dtype). Each has a scalar twin in {@link Dequant}
 * that tests compare against. Accumulation is in float32.
 */
public final class VecDot {
    private VecDot() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Shorts (bf16/f16) that widen to one float vector. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED.withShape(
            jdk.incubator.vector.VectorShape.forBitSize(F.vectorBitSize() / 2)).withLanes(short.class);
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED.withShape(F.vectorShape()).withLanes(int.class);
    /** Bytes that widen to one float vector (Q8_0; used only with 512-bit floats, kept valid on narrower machines). */
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED.withShape(
            jdk.incubator.vector.VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4))).withLanes(byte.class);
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * 1, but not a constant: the bf16 decode loops multiply their stride by it so that C2 sees a non-constant
     * stride and does not unroll them. Unrolled, C2 schedules the loads of several iterations ahead and spills
     * them; measured (4B shape, 2 threads, alternating runs): BF16 decode 2.75-3.03 -> 3.48-3.53 tokens/s. The
     * same made no difference for the Q8_0, Q4_0, Q4_K and Q6_K kernels, whose loop bodies are larger.
     */
    static int noUnroll = 1;

    /** Weight row {@code row} of {@code w} dotted with {@code x[xOff .. xOff + cols)}. */
    public static float dot(Tensor w, int row, float[] x, int xOff) {
        MemorySegment s = w.data();
        int n = w.cols();
        long off = row * w.rowBytes();
        return switch (w.dtype()) {
            case F32 -> dotF32(s, off, x, xOff, n);
            case BF16 -> dotBF16(s, off, x, xOff, n);
            case F16 -> dotF16(s, off, x, xOff, n);
            case Q8_0 -> dotQ8_0(s, off, x, xOff, n);
            default -> QuantKernels.dot(w.dtype(), s, off, x, xOff, n);
        };
    }

    static float dotF32(MemorySegment s, long off, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            a0 = FloatVector.fromMemorySegment(F, s, off + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = FloatVector.fromMemorySegment(F, s, off + 4L * (i + L), LE).fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE), off + 4L * i) * x[xOff + i];
        return sum;
    }

    /** bf16 -> f32 is a 16-bit left shift of the bits. */
    static FloatVector bf16(MemorySegment s, long pos) {
        return ((IntVector) ShortVector.fromMemorySegment(S, s, pos, LE).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * The bf16 kernel's trick: load 2L bf16 values as L ints; {@code int << 16} is the float of each even element
     * and {@code int & 0xFFFF0000} the float of each odd one, so no widening conversion is needed. The activations
     * must then be in the same "evens, then odds" order within each chunk of 2L: see {@link #permuteForBf16}.
     */
    static float dotBF16Paired(MemorySegment s, long off, float[] xp, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int step = noUnroll * 2 * L;
        for (int i = 0; i < n; i += step) {
            IntVector v = IntVector.fromMemorySegment(I, s, off + 2L * i, LE);
            a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, xp, xOff + i), a0);
            a1 = v.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(F, xp, xOff + i + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q8_0 for two rows at once, at byte offsets {@code offA} and {@code offB}: each activation vector is loaded once
     * for both rows, and the thread has two memory streams in flight. Results go to {@code y[ya]} and {@code y[yb]}.
     */
    static void dotQ8_0x2(MemorySegment s, long offA, long offB, float[] x, int n, float[] y, int ya, int yb) {
        FloatVector acc = FloatVector.zero(F), bcc = acc;
        for (int b = 0; b < n / 32; b++) {
            long ba = offA + 34L * b, bb = offB + 34L * b;
            FloatVector x0 = FloatVector.fromArray(F, x, 32 * b), x1 = FloatVector.fromArray(F, x, 32 * b + 16);
            FloatVector qa0 = (FloatVector) ByteVector.fromMemorySegment(B, s, ba + 2, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector qa1 = (FloatVector) ByteVector.fromMemorySegment(B, s, ba + 18, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector qb0 = (FloatVector) ByteVector.fromMemorySegment(B, s, bb + 2, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector qb1 = (FloatVector) ByteVector.fromMemorySegment(B, s, bb + 18, LE).convertShape(VectorOperators.B2F, F, 0);
            acc = qa0.fma(x0, qa1.mul(x1)).fma(FloatVector.broadcast(F, Dequant.f16(s, ba)), acc);
            bcc = qb0.fma(x0, qb1.mul(x1)).fma(FloatVector.broadcast(F, Dequant.f16(s, bb)), bcc);
        }
        y[ya] = acc.reduceLanes(VectorOperators.ADD);
        y[yb] = bcc.reduceLanes(VectorOperators.ADD);
    }

    /** {@link #dotBF16Paired} for two rows at once, like {@link #dotQ8_0x2}. */
    static void dotBF16x2(MemorySegment s, long offA, long offB, float[] xp, int n, float[] y, int ya, int yb) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        int step = noUnroll * 2 * L;
        for (int i = 0; i < n; i += step) {
            FloatVector x0 = FloatVector.fromArray(F, xp, i), x1 = FloatVector.fromArray(F, xp, i + L);
            IntVector v = IntVector.fromMemorySegment(I, s, offA + 2L * i, LE);
            IntVector u = IntVector.fromMemorySegment(I, s, offB + 2L * i, LE);
            a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, a0);
            a1 = v.and(0xFFFF0000).reinterpretAsFloats().fma(x1, a1);
            b0 = u.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, b0);
            b1 = u.and(0xFFFF0000).reinterpretAsFloats().fma(x1, b1);
        }
        y[ya] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        y[yb] = b0.add(b1).reduceLanes(VectorOperators.ADD);
    }

    /** True when {@link #dotBF16Paired} applies to rows of {@code n} elements. */
    static boolean pairedBf16(int n) {
        return n % (2 * L) == 0;
    }

    /**
     * Reorders each chunk of 2L values of {@code x[0..n)} as (evens, odds), the order {@link #dotBF16Paired}
     * produces; a dot product is unchanged when both sides are permuted alike.
     */
    static float[] permuteForBf16(float[] x, int n) {
        float[] p = new float[n];
        for (int c = 0; c < n; c += 2 * L) {
            for (int j = 0; j < L; j++) {
                p[c + j] = x[c + 2 * j];
                p[c + L + j] = x[c + 2 * j + 1];
            }
        }
        return p;
    }

    static float dotBF16(MemorySegment s, long off, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            a0 = bf16(s, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = bf16(s, off + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += Dequant.bf16(s, off + 2L * i) * x[xOff + i];
        return sum;
    }

    /**
     * f16 -> f32 without a conversion instruction: move exponent and mantissa into place (shift by 13) and
     * rescale by 2^112 to re-bias the exponent; this is exact for normal and subnormal halves (weights are
     * never Inf/NaN; those would come out as large finite values).
     */
    static FloatVector f16(MemorySegment s, long pos) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, s, pos, LE).convertShape(VectorOperators.S2I, I, 0);
        IntVector bits = h.and(0x8000).lanewise(VectorOperators.LSHL, 16)
                .or(h.and(0x7fff).lanewise(VectorOperators.LSHL, 13));
        return bits.reinterpretAsFloats().mul(0x1p112f);
    }

    static float dotF16(MemorySegment s, long off, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            a0 = f16(s, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = f16(s, off + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += Dequant.f16(s, off + 2L * i) * x[xOff + i];
        return sum;
    }

    /** Q8_0: blocks of (f16 scale d, 32 x int8 q); value = d * q. */
    static float dotQ8_0(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (L != 16) return QuantDot.dot(DType.Q8_0, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long blk = off + 34L * b;
            int xi = xOff + 32 * b;
            FloatVector q0 = (FloatVector) ByteVector.fromMemorySegment(B, s, blk + 2, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector q1 = (FloatVector) ByteVector.fromMemorySegment(B, s, blk + 18, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector part = q0.fma(FloatVector.fromArray(F, x, xi), q1.mul(FloatVector.fromArray(F, x, xi + 16)));
            acc = part.fma(FloatVector.broadcast(F, Dequant.f16(s, blk)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Fast row dequantization to float32 (prefill converts a block of rows once and reuses it across tokens). */
    public static void readRow(Tensor w, int row, float[] dst, int dstOff) {
        MemorySegment s = w.data();
        int n = w.cols();
        long off = row * w.rowBytes();
        int i = 0;
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(s, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE), off, dst, dstOff, n);
            case BF16 -> {
                for (; i <= n - L; i += L) bf16(s, off + 2L * i).intoArray(dst, dstOff + i);
                for (; i < n; i++) dst[dstOff + i] = Dequant.bf16(s, off + 2L * i);
            }
            case F16 -> {
                for (; i <= n - L; i += L) f16(s, off + 2L * i).intoArray(dst, dstOff + i);
                for (; i < n; i++) dst[dstOff + i] = Dequant.f16(s, off + 2L * i);
            }
            case Q8_0 -> {
                if (L != 16) {
                    w.readRow(row, dst, dstOff);
                    return;
                }
                for (int b = 0; b < n / 32; b++) {
                    long blk = off + 34L * b;
                    FloatVector d = FloatVector.broadcast(F, Dequant.f16(s, blk));
                    ((FloatVector) ByteVector.fromMemorySegment(B, s, blk + 2, LE).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d).intoArray(dst, dstOff + 32 * b);
                    ((FloatVector) ByteVector.fromMemorySegment(B, s, blk + 18, LE).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d).intoArray(dst, dstOff + 32 * b + 16);
                }
            }
            default -> w.readRow(row, dst, dstOff);
        }
    }

    /** {@code y[yOff + i] += a * x[xOff + i]} for {@code i < n}. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * x[xOff + i];
    }

    /**
     * {@code out[outOff + d] = sum over p < n of w[wOff + p] * v[vOff + p * stride + d]} for {@code d < dim}: the
     * attention-weighted sum of {@code n} value rows. Four vectors of {@code out} stay in registers across all rows
     * (repeated {@link #axpy} calls would store and reload them per row); each element gets the same FMAs in the same
     * order as those calls, so the result is identical.
     */
    public static void weightedSum(float[] w, int wOff, int n, float[] v, int vOff, int stride, float[] out, int outOff, int dim) {
        int d = 0;
        for (; d <= dim - 4 * L; d += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int p = 0, row = vOff + d; p < n; p++, row += stride) {
                FloatVector s = FloatVector.broadcast(F, w[wOff + p]);
                a0 = FloatVector.fromArray(F, v, row).fma(s, a0);
                a1 = FloatVector.fromArray(F, v, row + L).fma(s, a1);
                a2 = FloatVector.fromArray(F, v, row + 2 * L).fma(s, a2);
                a3 = FloatVector.fromArray(F, v, row + 3 * L).fma(s, a3);
            }
            a0.intoArray(out, outOff + d);
            a1.intoArray(out, outOff + d + L);
            a2.intoArray(out, outOff + d + 2 * L);
            a3.intoArray(out, outOff + d + 3 * L);
        }
        if (d < dim) {
            Arrays.fill(out, outOff + d, outOff + dim, 0f);
            for (int p = 0; p < n; p++) axpy(w[wOff + p], v, vOff + p * stride + d, out, outOff + d, dim - d);
        }
    }

    /**
     * Softmax of {@code s[off .. off+n)} in place: {@code exp(s - max) / sum}, the exponentials 16 at a time (the
     * Vector API's EXP, within 1 ulp of float; decode at 1K positions computes 24K of them per layer).
     */
    public static void softmax(float[] s, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int p = 0; p < n; p++) max = Math.max(max, s[off + p]);
        FloatVector m = FloatVector.broadcast(F, max), acc = FloatVector.zero(F);
        int p = 0;
        for (; p <= n - L; p += L) {
            FloatVector e = FloatVector.fromArray(F, s, off + p).sub(m).lanewise(VectorOperators.EXP);
            e.intoArray(s, off + p);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; p < n; p++) {
            s[off + p] = (float) Math.exp(s[off + p] - max);
            sum += s[off + p];
        }
        float inv = 1f / sum;
        for (p = 0; p < n; p++) s[off + p] *= inv;
    }

    /** Plain float32 dot of two arrays. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }
}
