package dev.minitron.cpu;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.minitron.cpu.VecDot.F;
import static dev.minitron.cpu.VecDot.L;
import static dev.minitron.cpu.VecDot.LE;

/**
 * Vector API dot products of one row of a GGUF block-quantized weight matrix, read in place from the mapped file,
 * with float32 activations. Each computes the same sum as dequantizing the row with {@code KQuants} and dotting
 * it, up to float32 rounding (the scales are applied per block or sub-block instead of per weight).
 *
 * <p>Common pattern: the packed quants of {@code L} weights ({@code L} = float lanes) are loaded as {@code L/4}
 * ints, nibbles and bit fields are separated with 32-bit shifts and masks (x86 has no byte shifts), the result
 * is reinterpreted as {@code L} bytes (little-endian, so byte {@code i} is weight {@code i}), offset to signed,
 * widened to {@code L} floats and FMA'd with the activations. Scales are decoded in scalar code once per block.
 *
 * <p>The kernels need {@code L} = 8 or 16 (256- or 512-bit vectors); for other widths they fall back to
 * {@link QuantDot}. Row lengths are whole blocks (the tensor constructor checks this).
 */
final class QuantKernels {
    private QuantKernels() {}

    /** True when the float vector length suits these kernels. */
    static final boolean SUPPORTED = L == 8 || L == 16;
    /** {@code L} bytes of packed quants, loaded as {@code L / 4} ints. */
    private static final VectorSpecies<Integer> IQ =
            SUPPORTED ? VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    /** {@code L} bytes at {@code pos} as {@code L / 4} little-endian ints. */
    private static IntVector load(MemorySegment s, long pos) {
        return IntVector.fromMemorySegment(IQ, s, pos, LE);
    }

    /** Masks of the low nibble and of bits 4-5 of every byte. */
    private static final IntVector LOW4 = SUPPORTED ? IntVector.broadcast(IQ, 0x0F0F0F0F) : null;
    private static final IntVector BITS45 = SUPPORTED ? IntVector.broadcast(IQ, 0x30303030) : null;

    /** The low nibbles of the bytes of {@code q}. */
    private static IntVector lowNibbles(IntVector q) {
        return q.and(LOW4);
    }

    /** The high nibbles of the bytes of {@code q}, moved down to bits 0-3. */
    private static IntVector highNibbles(IntVector q) {
        return q.lanewise(VectorOperators.LSHR, 4).and(LOW4);
    }

    /** The {@code L} bytes of {@code q} (unsigned, below 128) as {@code L} floats. */
    private static FloatVector widen(IntVector q) {
        return (FloatVector) q.reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0);
    }

    /** The {@code L} bytes of {@code q}, each minus {@code bias}, as {@code L} floats. */
    private static FloatVector widen(IntVector q, int bias) {
        ByteVector b = q.reinterpretAsBytes().sub((byte) bias);
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    /** Row dot product for a block-quantized {@code type}: its kernel here, or {@link QuantDot}. */
    static float dot(DType type, MemorySegment s, long off, float[] x, int xOff, int n) {
        return switch (type) {
            case Q4_0 -> dotQ4_0(s, off, x, xOff, n);
            case Q4_K -> dotQ4_K(s, off, x, xOff, n);
            case Q6_K -> dotQ6_K(s, off, x, xOff, n);
            default -> QuantDot.dot(type, s, off, x, xOff, n);
        };
    }

    private static FloatVector bc(float v) {
        return FloatVector.broadcast(F, v);
    }

    private static FloatVector xv(float[] x, int i) {
        return FloatVector.fromArray(F, x, i);
    }

    /**
     * Q4_0: blocks of 32 weights in 18 bytes, {@code {half d; uint8 qs[16]}}. Weight {@code j < 16} is the low
     * nibble of {@code qs[j]}, weight {@code j + 16} its high nibble; {@code w = d * (q - 8)}.
     */
    static float dotQ4_0(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q4_0, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long blk = off + 18L * b;
            int xi = xOff + 32 * b;
            FloatVector sum = FloatVector.zero(F);
            for (int c = 0; c < 16; c += L) {
                IntVector q = load(s, blk + 2 + c);
                sum = widen(lowNibbles(q), 8).fma(xv(x, xi + c), sum);
                sum = widen(highNibbles(q), 8).fma(xv(x, xi + 16 + c), sum);
            }
            acc = sum.fma(bc(Dequant.f16(s, blk)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q4_K: super-blocks of 256 weights in 144 bytes, {@code {half d; half dmin; uint8 scales[12]; uint8 qs[128]}}.
     * Eight sub-blocks of 32 weights, each with a 6-bit scale {@code sc} and min {@code m} packed in
     * {@code scales} (see {@link #scaleMinK4}). Weights {@code 64j .. 64j+31} are the low nibbles of
     * {@code qs[32j .. 32j+31]} (sub-block 2j), weights {@code 64j+32 .. 64j+63} their high nibbles (sub-block
     * 2j+1). {@code w = (d * sc) * q - dmin * m}; per sub-block the dot is {@code d*sc * sum(q x) - dmin*m * sum(x)}.
     */
    static float dotQ4_K(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q4_K, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);    // sum of d*sc * q*x
        FloatVector accMin = acc;                 // sum of dmin*m * x (separate: two shorter FMA chains)
        for (int b = 0; b < n / 256; b++) {
            long blk = off + 144L * b;
            float d = Dequant.f16(s, blk), dmin = Dequant.f16(s, blk + 2);
            int s0 = s.get(U32, blk + 4), s1 = s.get(U32, blk + 8), s2 = s.get(U32, blk + 12);
            for (int j = 0; j < 4; j++) {
                long qs = blk + 16 + 32L * j;
                int xi = xOff + 256 * b + 64 * j;
                // the 32 bytes in chunks of L; the first chunk starts the sums
                IntVector q = load(s, qs);
                FloatVector xLo = xv(x, xi), xHi = xv(x, xi + 32);
                FloatVector qxLo = widen(lowNibbles(q)).mul(xLo), qxHi = widen(highNibbles(q)).mul(xHi);
                for (int c = L; c < 32; c += L) {
                    q = load(s, qs + c);
                    FloatVector xl = xv(x, xi + c), xh = xv(x, xi + 32 + c);
                    qxLo = widen(lowNibbles(q)).fma(xl, qxLo);
                    qxHi = widen(highNibbles(q)).fma(xh, qxHi);
                    xLo = xLo.add(xl);
                    xHi = xHi.add(xh);
                }
                int smLo = scaleMinK4(s0, s1, s2, 2 * j), smHi = scaleMinK4(s0, s1, s2, 2 * j + 1);
                acc = qxLo.fma(bc(d * (smLo & 0xFF)), acc);
                acc = qxHi.fma(bc(d * (smHi & 0xFF)), acc);
                accMin = xLo.fma(bc(dmin * (smLo >>> 8)), accMin);
                accMin = xHi.fma(bc(dmin * (smHi >>> 8)), accMin);
            }
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
    }

    /**
     * The 6-bit scale and min of sub-block {@code j} (0..7) of a Q4_K/Q5_K super-block, from the 12 bytes of
     * {@code scales} read as three little-endian ints {@code s0, s1, s2} (bytes 0-3, 4-7, 8-11). For j &lt; 4:
     * scale = {@code scales[j] & 63}, min = {@code scales[j+4] & 63}. For j &ge; 4 the low four bits are the low
     * (scale) and high (min) nibble of {@code scales[j+4]}, the high two bits the top bits of {@code scales[j-4]}
     * (scale) and {@code scales[j]} (min). Returns {@code scale | min << 8}.
     */
    static int scaleMinK4(int s0, int s1, int s2, int j) {
        if (j < 4) {
            int sh = 8 * j;
            return (s0 >>> sh) & 63 | ((s1 >>> sh) & 63) << 8;
        }
        int sh = 8 * (j - 4);
        int sc = (s2 >>> sh) & 0x0F | ((s0 >>> (sh + 6)) & 3) << 4;
        int m = (s2 >>> (sh + 4)) & 0x0F | ((s1 >>> (sh + 6)) & 3) << 4;
        return sc | m << 8;
    }

    /**
     * Q6_K: super-blocks of 256 weights in 210 bytes, {@code {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d}}.
     * Sixteen sub-blocks of 16 weights with signed 8-bit scales. Half {@code h} (128 weights) uses
     * {@code ql[64h ..]}, {@code qh[32h ..]} and {@code scales[8h ..]}; for {@code l} in 0..31 its weights
     * {@code l, l+32, l+64, l+96} have low four bits from the low nibble of {@code ql[l]}, the low nibble of
     * {@code ql[l+32]}, the high nibble of {@code ql[l]}, the high nibble of {@code ql[l+32]}, and high two bits
     * from bits 0-1, 2-3, 4-5, 6-7 of {@code qh[l]}; weight {@code l + 32k} has scale {@code scales[l/16 + 2k]}.
     * {@code w = (d * sc) * (q - 32)}.
     */
    static float dotQ6_K(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q6_K, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long blk = off + 210L * b;
            // sum of sc * (q - 32) * x over the super-block, in two accumulators (even and odd k below)
            FloatVector sumA = FloatVector.zero(F), sumB = sumA;
            for (int h = 0; h < 2; h++) {
                long ql = blk + 64L * h, qh = blk + 128 + 32L * h, sc = blk + 192 + 8L * h;
                int xi = xOff + 256 * b + 128 * h;
                for (int l = 0; l < 32; l += L) {
                    IntVector hb = load(s, qh + l);
                    int is = l >>> 4;
                    // weights l + 32k for k = 0..3 (k even: ql[l..], odd: ql[l+32..]; k < 2: low nibble, else high),
                    // top bits 2k..2k+1 of qh[l]. Written as a loop over k = 0, 2 to keep the method small enough
                    // for C2 to inline every vector operation.
                    for (int k = 0; k < 4; k += 2) {
                        IntVector lo = load(s, ql + l).lanewise(VectorOperators.LSHR, 2 * k).and(LOW4);
                        IntVector hi = hb.lanewise(VectorOperators.LSHR, 2 * k).lanewise(VectorOperators.LSHL, 4).and(BITS45);
                        sumA = widen(lo.or(hi), 32).mul(xv(x, xi + 32 * k + l)).fma(bc(scale(s, sc + is + 2 * k)), sumA);
                        lo = load(s, ql + 32 + l).lanewise(VectorOperators.LSHR, 2 * k).and(LOW4);
                        hi = hb.lanewise(VectorOperators.LSHR, 2 * k + 2).lanewise(VectorOperators.LSHL, 4).and(BITS45);
                        sumB = widen(lo.or(hi), 32).mul(xv(x, xi + 32 * k + 32 + l)).fma(bc(scale(s, sc + is + 2 * k + 2)), sumB);
                    }
                }
            }
            acc = sumA.add(sumB).fma(bc(Dequant.f16(s, blk + 208)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Signed 8-bit scale at {@code pos}, as float. */
    private static float scale(MemorySegment s, long pos) {
        return s.get(ValueLayout.JAVA_BYTE, pos);
    }
}
