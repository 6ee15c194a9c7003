package dev.minitron.cpu;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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
 * Where a sub-block has a min ({@code w = a*q - b}), its dot is {@code a*sum(q x) - b*sum(x)}.
 *
 * <p>Keep each kernel compact. C2 stops inlining once a compilation has created too many IR nodes, and a Vector
 * API call left un-inlined boxes its vectors on the heap: still correct, but 10-20x slower
 * ({@code QuantKernelsJitTest} catches it). Hence the loops over bit planes rather than hand-unrolled copies, and
 * few memory access sites per kernel (each site that has seen both mapped and native segments is compiled twice).
 *
 * <p>Lane-order kernels ({@link #dotQ4_KLanes}, {@link #dotQ6_KLanes}; decode, 16 lanes only): instead of
 * widening bytes to floats in weight order (a cross-lane shuffle per 16 weights), the packed quants are loaded as
 * 16 ints and each bit field is masked and converted where it lies, so consecutive weights of a row end
 * up in different lanes; a field masked in place converts to its value times 2^(8k), exactly. The activations
 * are permuted once per token and matrix ({@link #prepareLanes}) into that same order and carry the 2^(-8k), so
 * the dot product is unchanged up to float32 rounding; sums the mins or offsets need are precomputed there too.
 * This more than halves the instructions per weight of the two types a Q4_K_M file is made of.
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
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    /** {@code L} bytes at {@code pos} as {@code L / 4} little-endian ints. */
    private static IntVector load(MemorySegment s, long pos) {
        return IntVector.fromMemorySegment(IQ, s, pos, LE);
    }

    /** The same {@code L} bytes as bytes. */
    private static final VectorSpecies<Byte> QB = SUPPORTED ? IQ.withLanes(byte.class) : null;

    /** Masks, in every byte: the low nibble, bits 0-1, bit 2, bit 4, bits 4-5. */
    private static final IntVector LOW4 = mask(0x0F0F0F0F), BITS01 = mask(0x03030303), BIT2 = mask(0x04040404),
            BIT4 = mask(0x10101010), BITS45 = mask(0x30303030);

    private static IntVector mask(int m) {
        return SUPPORTED ? IntVector.broadcast(IQ, m) : null;
    }

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

    /**
     * {@code L} 5-bit quants as floats minus {@code bias}: the 4-bit {@code nibbles} plus 16 where bit {@code i}
     * of {@code bits} is set, for byte {@code i}.
     */
    private static FloatVector withFifthBit(IntVector nibbles, int bits, int bias) {
        VectorMask<Byte> m = VectorMask.fromLong(QB, bits);
        ByteVector b = nibbles.reinterpretAsBytes().lanewise(VectorOperators.OR, (byte) 16, m).sub((byte) bias);
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    /** Bit {@code i} of every byte of {@code q}, moved to bit 4 (worth 16). */
    private static IntVector bitTo4(IntVector q, int i) {
        return q.lanewise(VectorOperators.LSHR, i).lanewise(VectorOperators.LSHL, 4).and(BIT4);
    }

    /** Row dot product for a block-quantized {@code type}: its kernel here, or {@link QuantDot}. */
    static float dot(DType type, MemorySegment s, long off, float[] x, int xOff, int n) {
        return switch (type) {
            case Q4_0 -> dotQ4_0(s, off, x, xOff, n);
            case Q4_1 -> dotQ4_1(s, off, x, xOff, n);
            case Q5_0 -> dotQ5_0(s, off, x, xOff, n);
            case Q5_1 -> dotQ5_1(s, off, x, xOff, n);
            case Q2_K -> dotQ2_K(s, off, x, xOff, n);
            case Q3_K -> dotQ3_K(s, off, x, xOff, n);
            case Q4_K -> dotQ4_K(s, off, x, xOff, n);
            case Q5_K -> dotQ5_K(s, off, x, xOff, n);
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
     * {@link #dotQ4_0} for two rows at once, sharing the activation loads (see {@code VecDot.dotQ8_0x2}); needs
     * {@code L = 16}. Results go to {@code y[ya]} and {@code y[yb]}. Measured on the 4B Q4_0 model, 2 threads,
     * alternating runs: decode 4.64-5.93 -> 5.24-6.34 tokens/s (+7% to +21% pairwise).
     */
    static void dotQ4_0x2(MemorySegment s, long offA, long offB, float[] x, int n, float[] y, int ya, int yb) {
        FloatVector acc = FloatVector.zero(F), bcc = acc;
        for (int b = 0; b < n / 32; b++) {
            long ba = offA + 18L * b, bb = offB + 18L * b;
            FloatVector x0 = xv(x, 32 * b), x1 = xv(x, 32 * b + 16);
            IntVector qa = load(s, ba + 2), qb = load(s, bb + 2);
            // the same operations in the same order as dotQ4_0 (L = 16: one chunk), so the sums are identical
            FloatVector sa = widen(highNibbles(qa), 8).fma(x1, widen(lowNibbles(qa), 8).mul(x0));
            FloatVector sb = widen(highNibbles(qb), 8).fma(x1, widen(lowNibbles(qb), 8).mul(x0));
            acc = sa.fma(bc(Dequant.f16(s, ba)), acc);
            bcc = sb.fma(bc(Dequant.f16(s, bb)), bcc);
        }
        y[ya] = acc.reduceLanes(VectorOperators.ADD);
        y[yb] = bcc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q4_1: blocks of 32 weights in 20 bytes, {@code {half d; half m; uint8 qs[16]}}; nibbles as in Q4_0, unsigned;
     * {@code w = d * q + m}, so the block's dot is {@code d * sum(q x) + m * sum(x)}.
     */
    static float dotQ4_1(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q4_1, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F), accMin = acc;
        for (int b = 0; b < n / 32; b++) {
            long blk = off + 20L * b;
            int xi = xOff + 32 * b;
            IntVector q = load(s, blk + 4);
            FloatVector x0 = xv(x, xi), x1 = xv(x, xi + 16);
            FloatVector qx = widen(lowNibbles(q)).mul(x0);
            qx = widen(highNibbles(q)).fma(x1, qx);
            FloatVector xs = x0.add(x1);
            for (int c = L; c < 16; c += L) {
                q = load(s, blk + 4 + c);
                x0 = xv(x, xi + c);
                x1 = xv(x, xi + 16 + c);
                qx = widen(lowNibbles(q)).fma(x0, qx);
                qx = widen(highNibbles(q)).fma(x1, qx);
                xs = xs.add(x0).add(x1);
            }
            acc = qx.fma(bc(Dequant.f16(s, blk)), acc);
            accMin = xs.fma(bc(Dequant.f16(s, blk + 2)), accMin);
        }
        return acc.add(accMin).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q5_0: blocks of 32 weights in 22 bytes, {@code {half d; uint8 qh[4]; uint8 qs[16]}}. The low four bits are
     * the nibbles as in Q4_0; bit {@code j} of the little-endian uint32 {@code qh} is the fifth bit (16) of weight
     * {@code j}. {@code w = d * (q - 16)}.
     */
    static float dotQ5_0(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q5_0, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long blk = off + 22L * b;
            int xi = xOff + 32 * b;
            int qh = s.get(U32, blk + 2);
            FloatVector sum = FloatVector.zero(F);
            for (int c = 0; c < 16; c += L) {
                IntVector q = load(s, blk + 6 + c);
                sum = withFifthBit(lowNibbles(q), qh >>> c, 16).fma(xv(x, xi + c), sum);
                sum = withFifthBit(highNibbles(q), qh >>> (16 + c), 16).fma(xv(x, xi + 16 + c), sum);
            }
            acc = sum.fma(bc(Dequant.f16(s, blk)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q5_1: blocks of 32 weights in 24 bytes, {@code {half d; half m; uint8 qh[4]; uint8 qs[16]}}; quants as in
     * Q5_0, unsigned; {@code w = d * q + m}.
     */
    static float dotQ5_1(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q5_1, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F), accMin = acc;
        for (int b = 0; b < n / 32; b++) {
            long blk = off + 24L * b;
            int xi = xOff + 32 * b;
            int qh = s.get(U32, blk + 4);
            FloatVector qx = FloatVector.zero(F), xs = qx;
            for (int c = 0; c < 16; c += L) {
                IntVector q = load(s, blk + 8 + c);
                FloatVector x0 = xv(x, xi + c), x1 = xv(x, xi + 16 + c);
                qx = withFifthBit(lowNibbles(q), qh >>> c, 0).fma(x0, qx);
                qx = withFifthBit(highNibbles(q), qh >>> (16 + c), 0).fma(x1, qx);
                xs = xs.add(x0).add(x1);
            }
            acc = qx.fma(bc(Dequant.f16(s, blk)), acc);
            accMin = xs.fma(bc(Dequant.f16(s, blk + 2)), accMin);
        }
        return acc.add(accMin).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q2_K: super-blocks of 256 weights in 84 bytes, {@code {uint8 scales[16]; uint8 qs[64]; half d; half dmin}}.
     * Sixteen sub-blocks of 16 weights; {@code scales[i]} holds the 4-bit scale (low nibble) and min (high nibble)
     * of sub-block {@code i}. Half {@code h} (128 weights) uses {@code qs[32h .. 32h+31]}: its weights
     * {@code 32g + 16k + l} (g = 0..3, k = 0..1, l = 0..15) are bits {@code 2g..2g+1} of {@code qs[32h + 16k + l]},
     * in sub-block {@code 8h + 2g + k}. {@code w = (d * sc) * q - dmin * m}.
     */
    static float dotQ2_K(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q2_K, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F), accMin = acc;
        for (int b = 0; b < n / 256; b++) {
            long blk = off + 84L * b;
            // sums of sc * q * x and of m * x over the super-block, two of each (g even, g odd)
            FloatVector sumA = FloatVector.zero(F), sumB = sumA, minA = sumA, minB = sumA;
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 2; k++) {
                    for (int c = 0; c < 16; c += L) {
                        IntVector q = load(s, blk + 16 + 32L * h + 16 * k + c);
                        int xi = xOff + 256 * b + 128 * h + 16 * k + c;
                        for (int g = 0; g < 4; g += 2) {
                            int scA = s.get(ValueLayout.JAVA_BYTE, blk + 8 * h + 2 * g + k) & 0xFF;
                            int scB = s.get(ValueLayout.JAVA_BYTE, blk + 8 * h + 2 * g + 2 + k) & 0xFF;
                            FloatVector xA = xv(x, xi + 32 * g), xB = xv(x, xi + 32 * g + 32);
                            FloatVector qA = widen(q.lanewise(VectorOperators.LSHR, 2 * g).and(BITS01));
                            FloatVector qB = widen(q.lanewise(VectorOperators.LSHR, 2 * g + 2).and(BITS01));
                            sumA = qA.mul(xA).fma(bc(scA & 0x0F), sumA);
                            sumB = qB.mul(xB).fma(bc(scB & 0x0F), sumB);
                            minA = xA.fma(bc(scA >>> 4), minA);
                            minB = xB.fma(bc(scB >>> 4), minB);
                        }
                    }
                }
            }
            acc = sumA.add(sumB).fma(bc(Dequant.f16(s, blk + 80)), acc);
            accMin = minA.add(minB).fma(bc(Dequant.f16(s, blk + 82)), accMin);
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q3_K: super-blocks of 256 weights in 110 bytes, {@code {uint8 hmask[32]; uint8 qs[64]; uint8 scales[12];
     * half d}}. Sixteen sub-blocks of 16 weights with signed 6-bit scales (see {@link #scaleK3}). The low two bits
     * of each quant are laid out as in Q2_K; the third bit of weight {@code 32G + 16k + l} (G = 4h + g = 0..7) is
     * bit {@code G} of {@code hmask[16k + l]}, a clear bit meaning minus 4. {@code w = (d * sc) * q}, q in -4..3.
     */
    static float dotQ3_K(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q3_K, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long blk = off + 110L * b;
            long sc01 = s.get(U64, blk + 96);
            int sc2 = s.get(U32, blk + 104);
            // sum of sc * q * x over the super-block, in two accumulators (g even, g odd)
            FloatVector sumA = FloatVector.zero(F), sumB = sumA;
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 2; k++) {
                    for (int c = 0; c < 16; c += L) {
                        IntVector q = load(s, blk + 32 + 32L * h + 16 * k + c);
                        IntVector hm = load(s, blk + 16 * k + c);
                        int xi = xOff + 256 * b + 128 * h + 16 * k + c;
                        for (int g = 0; g < 4; g += 2) {
                            int G = 4 * h + g;
                            IntVector qA = q.lanewise(VectorOperators.LSHR, 2 * g).and(BITS01)
                                    .or(hm.lanewise(VectorOperators.LSHR, G).lanewise(VectorOperators.LSHL, 2).and(BIT2));
                            IntVector qB = q.lanewise(VectorOperators.LSHR, 2 * g + 2).and(BITS01)
                                    .or(hm.lanewise(VectorOperators.LSHR, G + 1).lanewise(VectorOperators.LSHL, 2).and(BIT2));
                            sumA = widen(qA, 4).mul(xv(x, xi + 32 * g)).fma(bc(scaleK3(sc01, sc2, 8 * h + 2 * g + k)), sumA);
                            sumB = widen(qB, 4).mul(xv(x, xi + 32 * g + 32)).fma(bc(scaleK3(sc01, sc2, 8 * h + 2 * g + 2 + k)), sumB);
                        }
                    }
                }
            }
            acc = sumA.add(sumB).fma(bc(Dequant.f16(s, blk + 108)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * The signed 6-bit scale of sub-block {@code i} (0..15) of a Q3_K super-block, from its 12 {@code scales}
     * bytes read as a little-endian long {@code sc01} (bytes 0-7) and int {@code sc2} (bytes 8-11). The low four bits
     * are the low nibble of {@code scales[i]} (i &lt; 8) or the high nibble of {@code scales[i - 8]}; the high two
     * bits are bits {@code 2*(i/4)..} of {@code scales[8 + i % 4]}; the value is stored plus 32.
     */
    static int scaleK3(long sc01, int sc2, int i) {
        int low = i < 8 ? (int) (sc01 >>> (8 * i)) & 0x0F : (int) (sc01 >>> (8 * (i - 8) + 4)) & 0x0F;
        int high = (sc2 >>> (8 * (i & 3) + 2 * (i >>> 2))) & 3;
        return (low | high << 4) - 32;
    }

    /**
     * Q4_K: super-blocks of 256 weights in 144 bytes, {@code {half d; half dmin; uint8 scales[12]; uint8 qs[128]}}.
     * Eight sub-blocks of 32 weights, each with a 6-bit scale {@code sc} and min {@code m} packed in
     * {@code scales} (see {@link #scalesK4}, {@link #minsK4}). Weights {@code 64j .. 64j+31} are the low nibbles of
     * {@code qs[32j .. 32j+31]} (sub-block 2j), weights {@code 64j+32 .. 64j+63} their high nibbles (sub-block
     * 2j+1). {@code w = (d * sc) * q - dmin * m}; per sub-block the dot is {@code d*sc * sum(q x) - dmin*m * sum(x)}.
     */
    static float dotQ4_K(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q4_K, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);    // sum of d*sc * q*x
        FloatVector accMin = acc;                 // sum of dmin*m * x (separate: two shorter FMA chains)
        for (int b = 0; b < n / 256; b++) {
            long blk = off + 144L * b;
            // the 16-byte header in two reads (fewer access sites keep the compiled kernel small)
            long h0 = s.get(U64, blk), h1 = s.get(U64, blk + 8);
            float d = Float.float16ToFloat((short) h0), dmin = Float.float16ToFloat((short) (h0 >>> 16));
            long scales = scalesK4((int) (h0 >>> 32), (int) (h1 >>> 32)), mins = minsK4((int) h1, (int) (h1 >>> 32));
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
                int sc = (int) (scales >>> 16 * j), m = (int) (mins >>> 16 * j);   // sub-blocks 2j, 2j+1
                acc = qxLo.fma(bc(d * (sc & 0x3F)), acc);
                acc = qxHi.fma(bc(d * (sc >>> 8 & 0x3F)), acc);
                accMin = xLo.fma(bc(dmin * (m & 0x3F)), accMin);
                accMin = xHi.fma(bc(dmin * (m >>> 8 & 0x3F)), accMin);
            }
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
    }

    /** True when the lane-order kernels ({@link #dotQ4_KLanes}, {@link #dotQ6_KLanes}) can run: 16 float lanes. */
    static final boolean LANE_KERNELS = L == 16;

    /** True when {@code type} has a lane-order kernel here: {@link #prepareLanes} then {@link #dotLanes}. */
    static boolean hasLaneKernel(DType type) {
        return LANE_KERNELS && (type == DType.Q4_K || type == DType.Q6_K);
    }

    /** The activations reordered for {@code type}'s lane-order kernel; computed once per token, shared by all rows. */
    static float[] prepareLanes(DType type, float[] x, int n) {
        return prepareLanes(type, x, n, new float[lanesLength(n)]);
    }

    /** {@link #prepareLanes} into {@code p} (at least {@link #lanesLength} long, any contents), which it returns. */
    static float[] prepareLanes(DType type, float[] x, int n, float[] p) {
        return type == DType.Q4_K ? prepareQ4_K(x, n, p) : prepareQ6_K(x, n, p);
    }

    /** Length of the reordered activations for rows of {@code n} weights: {@code n} and one vector per super-block. */
    static int lanesLength(int n) {
        return n + n / 16;
    }

    /**
     * Rows wider than this many weights go through the four-row lane kernels in decode. Their activations (over 16 KB
     * of float32 per 4096 weights, with the sub-block sums) no longer stay in the 32 KB L1 cache beside the weights
     * streaming past, so every call brings them in again from L2; four rows per call halve that traffic. On 3072-long
     * rows four rows per call were slower (6% on the whole decode, also with aligned activations): with the rows in
     * L2, the four-row kernels run 7% (Q4_K) and 13% (Q6_K) slower per weight than the two-row ones.
     */
    static final int WIDE_ROWS = 4096;

    /**
     * Dot products of {@code rows} (2 or 4) rows by {@code type}'s lane-order kernel, with activations from
     * {@link #prepareLanes}: row {@code j} starts at byte {@code off + j * step} and its result goes to
     * {@code y[yi + j * yStep]} ({@code step = 0} gives one row, computed twice).
     */
    static void dotLanes(DType type, int rows, MemorySegment s, long off, long step, float[] xp, int n, float[] y, int yi,
                         int yStep) {
        if (type == DType.Q4_K) {
            if (rows == 4) dotQ4_KLanes4(s, off, step, xp, n, y, yi, yStep);
            else dotQ4_KLanes(s, off, step, xp, n, y, yi, yStep);
        } else if (rows == 4) {
            dotQ6_KLanes4(s, off, step, xp, n, y, yi, yStep);
        } else {
            dotQ6_KLanes(s, off, step, xp, n, y, yi, yStep);
        }
    }

    /**
     * The activations as {@link #dotQ4_KLanes} reads them, for a row of {@code n} weights: {@code x} reordered within
     * each half super-block (128 weights) into the order the kernel unpacks the nibbles, then, from index {@code n},
     * one vector of 16 lanes per super-block: eight zeros and the sums of {@code x} over its eight sub-blocks (for
     * the mins). Computed once per token and matrix, shared by all rows.
     */
    private static float[] prepareQ4_K(float[] x, int n, float[] p) {
        permute(x, n, Q4K_ORDER, 5, p);   // nibble step k = j / 16, byte k / 2
        for (int b = 0; b < n / 256; b++) {
            for (int j = 0; j < 8; j++) {
                int at = 256 * b + 32 * j;
                FloatVector sum = FloatVector.fromArray(F, x, at).add(FloatVector.fromArray(F, x, at + 16));
                p[n + 16 * b + j] = 0;
                p[n + 16 * b + 8 + j] = sum.reduceLanes(VectorOperators.ADD);
            }
        }
        return p;
    }

    /**
     * Where {@link #prepareQ4_K} takes the activations of each half super-block from: entry {@code 16 k + i} (lane
     * {@code i} of nibble step {@code k}) is the nibble in qs byte {@code 64 (i >> 3) + 4 (i & 7) + (k >> 1)}, low or
     * high by {@code k & 1}.
     */
    private static final int[] Q4K_ORDER = new int[128];
    /** Where {@link #prepareQ6_K} takes them from in each super-block (see {@link #q6kWeight}). */
    private static final int[] Q6K_ORDER = new int[256];

    static {
        for (int k = 0; k < 8; k++) {
            for (int i = 0; i < 16; i++) Q4K_ORDER[16 * k + i] = 64 * (i >> 3) + 32 * (k & 1) + 4 * (i & 7) + (k >> 1);
        }
        for (int v = 0; v < 4; v++) {
            for (int c = 0; c < 4; c++) {
                for (int i = 0; i < 16; i++) Q6K_ORDER[64 * v + 16 * c + i] = q6kWeight(v, c, i);
            }
        }
    }

    /**
     * {@code p[g + j] = x[g + order[j]]}, scaled, for each group of {@code order.length} activations, 16 at a time
     * (a gather). The 16 lanes at {@code j} meet byte {@code (j >> byteShift) & 3} of the lane kernel's ints; the
     * kernel converts that byte in place, times {@code 2^(8 byte)}, so these activations carry {@code 2^(-8 byte)}.
     * With the sums, one token's activations for one matrix took 5.8 µs (3072 for Q4_K) to 20 µs (9216 for Q6_K) as
     * scalar loops, now 2.1-6.4 µs: about 1 ms less per token on the 4B model, which does this six times per layer.
     */
    private static void permute(float[] x, int n, int[] order, int byteShift, float[] p) {
        for (int g = 0; g < n; g += order.length) {
            for (int j = 0; j < order.length; j += 16) {
                float scale = Math.scalb(1f, -8 * ((j >> byteShift) & 3));
                FloatVector.fromArray(F, x, g, order, j).mul(scale).intoArray(p, g + j);
            }
        }
    }

    private static final VectorSpecies<Integer> I16 = LANE_KERNELS ? IntVector.SPECIES_512 : null;
    /** Lanes 8-15. */
    private static final VectorMask<Float> UPPER8F = LANE_KERNELS ? VectorMask.fromLong(F, 0xFF00L) : null;
    /**
     * Which sub-block's scale each lane of a Q4_K nibble vector needs (lanes 0-7, 8-15): low nibbles of half 0:
     * sub-blocks 0, 2; high nibbles 1, 3; half 1: 4, 6 and 5, 7. The lane-order kernels compute on 512-bit vectors
     * only (16 scale bytes are loaded as 128 bits and widened at once): a 256-bit vector in the Q4_K kernel once made
     * C2 box the Q6_K lane kernel after the Q4_0 kernel had also run (shared profiles).
     */
    private static final VectorShuffle<Float> LOW_0 = pairF(0, 2), HIGH_0 = pairF(1, 3), LOW_1 = pairF(4, 6), HIGH_1 = pairF(5, 7);

    private static VectorShuffle<Float> pairF(int low, int high) {
        return LANE_KERNELS ? VectorShuffle.fromOp(F, i -> i < 8 ? low : high) : null;
    }

    private static IntVector halves(int low, int high) {
        if (!LANE_KERNELS) return null;
        int[] v = new int[16];
        for (int i = 0; i < 16; i++) v[i] = i < 8 ? low : high;
        return IntVector.fromArray(I16, v, 0);
    }

    /**
     * {@link #dotQ4_K} for two rows, with activations from {@link #prepareQ4_K}; needs 16 lanes. Each half
     * super-block (64 bytes of quants) is loaded as sixteen ints and each nibble position (shift {@code 4k}) converted
     * in place: lanes 0-7 hold sub-block {@code 4h + (k & 1)}, lanes 8-15 sub-block {@code 4h + 2 + (k & 1)}, so no
     * shuffles are needed; the activations were permuted to match. The super-block's eight scales and eight mins go
     * into one vector (times d and -dmin); the nibble sums take their scales from it by a shuffle, and the mins meet
     * the precomputed sub-block sums of {@code x} in one FMA.
     *
     * <p>Two rows, block by block: the second row's block finds the activations the first one brought into the L1
     * cache. Measured on the 2-core VM, 2 threads, Q4_K rows from memory: 3072 x 9216 (ffn_down) 9.5-10 -> 12.6-14.6
     * GB/s; one core, rows in the L2 cache: 17.7 -> 21.2 G weights/s (with the one-vector scales).
     */
    static void dotQ4_KLanes(MemorySegment s, long off, long step, float[] xp, int n, float[] y, int yi, int yStep) {
        // No helper methods with vector arguments or results here (see dotQ6_KLanes for why).
        FloatVector accA = FloatVector.zero(F), accB = accA;
        for (int b = 0; b < n / 256; b++) {
            FloatVector xs = FloatVector.fromArray(F, xp, n + 16 * b);
            for (int r = 0; r < 2; r++) {
                long blk = off + r * step + 144L * b;
                long h0 = s.get(U64, blk), h1 = s.get(U64, blk + 8);
                float d = Float.float16ToFloat((short) h0), dmin = Float.float16ToFloat((short) (h0 >>> 16));
                long scales = scalesK4((int) (h0 >>> 32), (int) (h1 >>> 32)), mins = minsK4((int) h1, (int) (h1 >>> 32));
                // lanes 0-7: d * scale, lanes 8-15: -dmin * min, of sub-blocks 0..7
                FloatVector sm = ((FloatVector) LongVector.broadcast(LongVector.SPECIES_128, scales).withLane(1, mins)
                        .reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0))
                        .mul(FloatVector.broadcast(F, d).blend(-dmin, UPPER8F));
                FloatVector sum = sm.mul(xs);   // lanes 8-15: -dmin * min * (sum of x), per sub-block
                for (int h = 0; h < 2; h++) {
                    IntVector q = IntVector.fromMemorySegment(I16, s, blk + 16 + 64L * h, LE);
                    int xi = 256 * b + 128 * h;
                    IntVector qo = q.lanewise(VectorOperators.LSHR, 4);   // the high nibbles, moved to the low ones
                    FloatVector even = FloatVector.zero(F), odd = even;   // low nibbles, high nibbles
                    for (int k = 0; k < 4; k++) {
                        // byte k's nibble masked in place: converted, it is the nibble times 2^(8k), exactly; the
                        // activations carry the 2^(-8k) (prepareQ4_K), which saves a shift per 16 weights
                        int mask = 0x0F << 8 * k;
                        even = ((FloatVector) q.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xi + 32 * k), even);
                        odd = ((FloatVector) qo.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xi + 32 * k + 16), odd);
                    }
                    sum = even.fma(sm.rearrange(h == 0 ? LOW_0 : LOW_1), sum);
                    sum = odd.fma(sm.rearrange(h == 0 ? HIGH_0 : HIGH_1), sum);
                }
                if (r == 0) accA = accA.add(sum);
                else accB = accB.add(sum);
            }
        }
        y[yi] = accA.reduceLanes(VectorOperators.ADD);
        y[yi + yStep] = accB.reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@link #dotQ4_KLanes} for four rows (see {@link #WIDE_ROWS}), with the same operations per row.
     * Written out again rather than shared: a kernel taking two or four rows by a count made the two-row case 8%
     * slower (C2 no longer unrolls the row loop), and a helper for the per-block work risks boxed vectors.
     */
    static void dotQ4_KLanes4(MemorySegment s, long off, long step, float[] xp, int n, float[] y, int yi, int yStep) {
        // No helper methods with vector arguments or results here (see dotQ6_KLanes for why).
        FloatVector accA = FloatVector.zero(F), accB = accA, accC = accA, accD = accA;
        for (int b = 0; b < n / 256; b++) {
            FloatVector xs = FloatVector.fromArray(F, xp, n + 16 * b);
            for (int r = 0; r < 4; r++) {
                long blk = off + r * step + 144L * b;
                long h0 = s.get(U64, blk), h1 = s.get(U64, blk + 8);
                float d = Float.float16ToFloat((short) h0), dmin = Float.float16ToFloat((short) (h0 >>> 16));
                long scales = scalesK4((int) (h0 >>> 32), (int) (h1 >>> 32)), mins = minsK4((int) h1, (int) (h1 >>> 32));
                // lanes 0-7: d * scale, lanes 8-15: -dmin * min, of sub-blocks 0..7
                FloatVector sm = ((FloatVector) LongVector.broadcast(LongVector.SPECIES_128, scales).withLane(1, mins)
                        .reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0))
                        .mul(FloatVector.broadcast(F, d).blend(-dmin, UPPER8F));
                FloatVector sum = sm.mul(xs);   // lanes 8-15: -dmin * min * (sum of x), per sub-block
                for (int h = 0; h < 2; h++) {
                    IntVector q = IntVector.fromMemorySegment(I16, s, blk + 16 + 64L * h, LE);
                    int xi = 256 * b + 128 * h;
                    IntVector qo = q.lanewise(VectorOperators.LSHR, 4);   // the high nibbles, moved to the low ones
                    FloatVector even = FloatVector.zero(F), odd = even;   // low nibbles, high nibbles
                    for (int k = 0; k < 4; k++) {
                        // byte k's nibble masked in place: converted, it is the nibble times 2^(8k), exactly; the
                        // activations carry the 2^(-8k) (prepareQ4_K), which saves a shift per 16 weights
                        int mask = 0x0F << 8 * k;
                        even = ((FloatVector) q.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xi + 32 * k), even);
                        odd = ((FloatVector) qo.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xi + 32 * k + 16), odd);
                    }
                    sum = even.fma(sm.rearrange(h == 0 ? LOW_0 : LOW_1), sum);
                    sum = odd.fma(sm.rearrange(h == 0 ? HIGH_0 : HIGH_1), sum);
                }
                if (r == 0) accA = accA.add(sum);
                else if (r == 1) accB = accB.add(sum);
                else if (r == 2) accC = accC.add(sum);
                else accD = accD.add(sum);
            }
        }
        y[yi] = accA.reduceLanes(VectorOperators.ADD);
        y[yi + yStep] = accB.reduceLanes(VectorOperators.ADD);
        y[yi + 2 * yStep] = accC.reduceLanes(VectorOperators.ADD);
        y[yi + 3 * yStep] = accD.reduceLanes(VectorOperators.ADD);
    }

    /**
     * The eight 6-bit scales of a Q4_K/Q5_K super-block, one per byte of the result (sub-block {@code i} in byte
     * {@code i}), from the 12 bytes of {@code scales} read as three little-endian ints {@code s0, s1, s2} (bytes
     * 0-3, 4-7, 8-11). Scales 0-3 are the low six bits of {@code scales[0..3]}; scales 4-7 have their low four bits
     * in the low nibbles of {@code scales[8..11]} and their high two bits in the top bits of {@code scales[0..3]}.
     */
    static long scalesK4(int s0, int s2) {
        return s0 & 0x3F3F3F3FL | (long) (s2 & 0x0F0F0F0F | (s0 >>> 2) & 0x30303030) << 32;
    }

    /**
     * The eight 6-bit mins, packed like {@link #scalesK4}: mins 0-3 are the low six bits of {@code scales[4..7]};
     * mins 4-7 have their low four bits in the high nibbles of {@code scales[8..11]} and their high two bits in the
     * top bits of {@code scales[4..7]}.
     */
    static long minsK4(int s1, int s2) {
        return s1 & 0x3F3F3F3FL | (long) (s2 >>> 4 & 0x0F0F0F0F | (s1 >>> 2) & 0x30303030) << 32;
    }

    /**
     * Q5_K: super-blocks of 256 weights in 176 bytes, {@code {half d; half dmin; uint8 scales[12]; uint8 qh[32];
     * uint8 qs[128]}}. As Q4_K (qs at byte 48), plus a fifth bit (16): for sub-block {@code i} (0..7) of 32
     * weights, weight {@code l} has it in bit {@code i} of {@code qh[l]}. {@code w = (d * sc) * q - dmin * m}.
     */
    static float dotQ5_K(MemorySegment s, long off, float[] x, int xOff, int n) {
        if (!SUPPORTED) return QuantDot.dot(DType.Q5_K, s, off, x, xOff, n);
        FloatVector acc = FloatVector.zero(F), accMin = acc;
        for (int b = 0; b < n / 256; b++) {
            long blk = off + 176L * b;
            // the 16-byte header in two reads (fewer access sites keep the compiled kernel small)
            long h0 = s.get(U64, blk), h1 = s.get(U64, blk + 8);
            float d = Float.float16ToFloat((short) h0), dmin = Float.float16ToFloat((short) (h0 >>> 16));
            long scales = scalesK4((int) (h0 >>> 32), (int) (h1 >>> 32)), mins = minsK4((int) h1, (int) (h1 >>> 32));
            for (int j = 0; j < 4; j++) {
                long qs = blk + 48 + 32L * j;
                int xi = xOff + 256 * b + 64 * j;
                FloatVector qxLo = FloatVector.zero(F), qxHi = qxLo, xLo = qxLo, xHi = qxLo;
                for (int c = 0; c < 32; c += L) {
                    IntVector q = load(s, qs + c), hb = load(s, blk + 16 + c);
                    FloatVector xl = xv(x, xi + c), xh = xv(x, xi + 32 + c);
                    qxLo = widen(lowNibbles(q).or(bitTo4(hb, 2 * j))).fma(xl, qxLo);
                    qxHi = widen(highNibbles(q).or(bitTo4(hb, 2 * j + 1))).fma(xh, qxHi);
                    xLo = xLo.add(xl);
                    xHi = xHi.add(xh);
                }
                int sc = (int) (scales >>> 16 * j), m = (int) (mins >>> 16 * j);   // sub-blocks 2j, 2j+1
                acc = qxLo.fma(bc(d * (sc & 0x3F)), acc);
                acc = qxHi.fma(bc(d * (sc >>> 8 & 0x3F)), acc);
                accMin = xLo.fma(bc(dmin * (m & 0x3F)), accMin);
                accMin = xHi.fma(bc(dmin * (m >>> 8 & 0x3F)), accMin);
            }
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
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

    /**
     * The activations as {@link #dotQ6_KLanes} reads them, for a row of {@code n} weights: per super-block, {@code x}
     * in the kernel's lane order (four vectors of weights, each in four byte steps of 16 lanes, see
     * {@link #q6kWeight}), then, from index {@code n}, -32 times the sum of {@code x} over each 16-weight sub-block
     * (the weights' offset).
     */
    private static float[] prepareQ6_K(float[] x, int n, float[] p) {
        permute(x, n, Q6K_ORDER, 4, p);   // vector v = j / 64, byte c = (j / 16) % 4
        for (int i = 0; i < n / 16; i++) p[n + i] = -32 * FloatVector.fromArray(F, x, 16 * i).reduceLanes(VectorOperators.ADD);
        return p;
    }

    /**
     * The weight (0..255 in its super-block) that {@link #dotQ6_KLanes} finds in byte {@code c} of int lane {@code i}
     * of its vector {@code v}: v = 0, 1 take the low, high nibbles of {@code ql} bytes {@code l} of half 0 (lanes 0-7)
     * and {@code l + 32} of half 1 (lanes 8-15), v = 2, 3 the other two groups; {@code l = 4 (i & 7) + c}.
     */
    private static int q6kWeight(int v, int c, int i) {
        int l = 4 * (i & 7) + c, half = (i >> 3) ^ (v >> 1), upper = i >> 3;   // upper lanes: ql[l + 32]
        return 128 * half + l + 32 * upper + 64 * (v & 1);
    }

    private static final VectorMask<Integer> UPPER8 = LANE_KERNELS ? VectorMask.fromLong(I16, 0xFF00L) : null;
    private static final VectorShuffle<Integer> SWAP_HALVES = LANE_KERNELS ? VectorShuffle.fromOp(I16, i -> i ^ 8) : null;
    /** Per-lane shifts that move the two {@code qh} bits of a low nibble (bits 0-1 or 2-3) and a high one (4-5, 6-7) to bits 4-5. */
    private static final IntVector QH_LOW = halves(4, 2), QH_HIGH = halves(0, 2);
    /**
     * Scales of the low- and high-nibble vectors, pass 0: sub-blocks 0, 1 (lanes 0-3, 4-7) and 10, 11; 4, 5 and
     * 14, 15; pass 1: the other halves.
     */
    private static final VectorShuffle<Float> SCALES_LOW = quarters(0, 1, 10, 11), SCALES_HIGH = quarters(4, 5, 14, 15),
            SCALES_LOW_2 = quarters(8, 9, 2, 3), SCALES_HIGH_2 = quarters(12, 13, 6, 7);

    private static VectorShuffle<Float> quarters(int a, int b, int c, int d) {
        int[] v = {a, b, c, d};
        return LANE_KERNELS ? VectorShuffle.fromOp(F, i -> v[i >> 2]) : null;
    }

    /**
     * {@link #dotQ6_K} with activations from {@link #prepareQ6_K}; needs 16 lanes. Per super-block, {@code ql} is
     * loaded as two vectors of 16 ints (half 0, half 1) and {@code qh} as one (half 0 in lanes 0-7, half 1 in 8-15).
     * Blending the {@code ql} vectors pairs each lane with its {@code qh} lane: pass 0 takes half 0's {@code ql[l]}
     * and half 1's {@code ql[l + 32]}, pass 1 (halves swapped) the rest. The six-bit weights are assembled four per
     * int, each byte is then converted in place, and the -32 offset is applied once per sub-block through the
     * precomputed sums. Measured per core (rows in the L2 cache): 8.0 -> 9-14.5 G weights/s (a noisy VM). Two rows,
     * block by block, as {@link #dotQ4_KLanes}: 2 threads, rows from memory, 3072 x 9216 10.2-10.6 -> 10.6-11.7 GB/s,
     * 9216 x 3072 13.5-13.8 -> 20.7-22.2 GB/s.
     *
     * <p>Written out in full, with no helper methods: C2 boxed vectors (3-10x slower) in some runs when the passes
     * were a helper or a loop swapping its vectors, or when the method called helpers the other kernels share (C2
     * may refuse to inline a helper it has already compiled on its own). The scales are loaded as four ints: a
     * {@code ByteVector} load from a segment whose call site had seen both mapped and native segments fell back to
     * its per-byte Java path. {@code QuantKernelsJitTest} checks it after all the other kernels have run.
     */
    static void dotQ6_KLanes(MemorySegment s, long off, long step, float[] xp, int n, float[] y, int yi, int yStep) {
        FloatVector accA = FloatVector.zero(F), accB = accA;
        for (int b = 0; b < n / 256; b++) {
            int xi = 256 * b;
            FloatVector xs = FloatVector.fromArray(F, xp, n + 16 * b);
            for (int r = 0; r < 2; r++) {
                long blk = off + r * step + 210L * b;
                IntVector qa = IntVector.fromMemorySegment(I16, s, blk, LE), qb = IntVector.fromMemorySegment(I16, s, blk + 64, LE);
                IntVector qh = IntVector.fromMemorySegment(I16, s, blk + 128, LE), qh2 = qh.rearrange(SWAP_HALVES);
                // the 16 signed scales, loaded as ints like every other load here
                FloatVector sc = (FloatVector) IntVector.fromMemorySegment(IQ, s, blk + 192, LE).reinterpretAsBytes()
                        .convertShape(VectorOperators.B2F, F, 0);
                FloatVector sum = sc.mul(xs);   // the -32 of every weight
                // pass 0: half 0's ql[l] and half 1's ql[l + 32] (lanes 0-7, 8-15), with qh as loaded
                IntVector q = qa.blend(qb, UPPER8);
                IntVector lo1 = q.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, QH_LOW).and(0x30303030));
                IntVector hi1 = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                        .or(qh.lanewise(VectorOperators.LSHR, QH_HIGH).and(0x30303030));
                // pass 1: half 1's ql[l] and half 0's ql[l + 32], with qh's halves swapped
                q = qb.blend(qa, UPPER8);
                IntVector lo2 = q.and(0x0F0F0F0F).or(qh2.lanewise(VectorOperators.LSHL, QH_LOW).and(0x30303030));
                IntVector hi2 = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                        .or(qh2.lanewise(VectorOperators.LSHR, QH_HIGH).and(0x30303030));
                FloatVector l1 = FloatVector.zero(F), h1 = l1, l2 = l1, h2 = l1;
                for (int c = 0; c < 4; c++) {
                    // byte c of every int masked in place (six bits, so never negative): converted, it is the weight
                    // times 2^(8c), exactly; the activations carry the 2^(-8c) (prepareQ6_K)
                    int mask = 0x3F << 8 * c, x = xi + 16 * c;
                    l1 = ((FloatVector) lo1.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, x), l1);
                    h1 = ((FloatVector) hi1.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, x + 64), h1);
                    l2 = ((FloatVector) lo2.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, x + 128), l2);
                    h2 = ((FloatVector) hi2.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, x + 192), h2);
                }
                sum = l1.fma(sc.rearrange(SCALES_LOW), sum);
                sum = h1.fma(sc.rearrange(SCALES_HIGH), sum);
                sum = l2.fma(sc.rearrange(SCALES_LOW_2), sum);
                sum = h2.fma(sc.rearrange(SCALES_HIGH_2), sum);
                FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(s.get(F16, blk + 208)));
                if (r == 0) accA = sum.fma(d, accA);
                else accB = sum.fma(d, accB);
            }
        }
        y[yi] = accA.reduceLanes(VectorOperators.ADD);
        y[yi + yStep] = accB.reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@link #dotQ6_KLanes} for four rows (see {@link #WIDE_ROWS}), with the same operations per row.
     * Written out again rather than shared: a kernel taking two or four rows by a count made the two-row case 8%
     * slower (C2 no longer unrolls the row loop), and a helper for the per-block work risks boxed vectors.
     */
    static void dotQ6_KLanes4(MemorySegment s, long off, long step, float[] xp, int n, float[] y, int yi, int yStep) {
        FloatVector accA = FloatVector.zero(F), accB = accA, accC = accA, accD = accA;
        for (int b = 0; b < n / 256; b++) {
            int xi = 256 * b;
            FloatVector xs = FloatVector.fromArray(F, xp, n + 16 * b);
            for (int r = 0; r < 4; r++) {
                long blk = off + r * step + 210L * b;
                IntVector qa = IntVector.fromMemorySegment(I16, s, blk, LE), qb = IntVector.fromMemorySegment(I16, s, blk + 64, LE);
                IntVector qh = IntVector.fromMemorySegment(I16, s, blk + 128, LE), qh2 = qh.rearrange(SWAP_HALVES);
                // the 16 signed scales, loaded as ints like every other load here
                FloatVector sc = (FloatVector) IntVector.fromMemorySegment(IQ, s, blk + 192, LE).reinterpretAsBytes()
                        .convertShape(VectorOperators.B2F, F, 0);
                FloatVector sum = sc.mul(xs);   // the -32 of every weight
                // pass 0: half 0's ql[l] and half 1's ql[l + 32] (lanes 0-7, 8-15), with qh as loaded
                IntVector q = qa.blend(qb, UPPER8);
                IntVector lo1 = q.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, QH_LOW).and(0x30303030));
                IntVector hi1 = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                        .or(qh.lanewise(VectorOperators.LSHR, QH_HIGH).and(0x30303030));
                // pass 1: half 1's ql[l] and half 0's ql[l + 32], with qh's halves swapped
                q = qb.blend(qa, UPPER8);
                IntVector lo2 = q.and(0x0F0F0F0F).or(qh2.lanewise(VectorOperators.LSHL, QH_LOW).and(0x30303030));
                IntVector hi2 = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                        .or(qh2.lanewise(VectorOperators.LSHR, QH_HIGH).and(0x30303030));
                FloatVector l1 = FloatVector.zero(F), h1 = l1, l2 = l1, h2 = l1;
                for (int c = 0; c < 4; c++) {
                    // byte c of every int masked in place (six bits, so never negative): converted, it is the weight
                    // times 2^(8c), exactly; the activations carry the 2^(-8c) (prepareQ6_K)
                    int mask = 0x3F << 8 * c, x = xi + 16 * c;
                    l1 = ((FloatVector) lo1.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, x), l1);
                    h1 = ((FloatVector) hi1.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, x + 64), h1);
                    l2 = ((FloatVector) lo2.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, x + 128), l2);
                    h2 = ((FloatVector) hi2.and(mask).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, x + 192), h2);
                }
                sum = l1.fma(sc.rearrange(SCALES_LOW), sum);
                sum = h1.fma(sc.rearrange(SCALES_HIGH), sum);
                sum = l2.fma(sc.rearrange(SCALES_LOW_2), sum);
                sum = h2.fma(sc.rearrange(SCALES_HIGH_2), sum);
                FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(s.get(F16, blk + 208)));
                if (r == 0) accA = sum.fma(d, accA);
                else if (r == 1) accB = sum.fma(d, accB);
                else if (r == 2) accC = sum.fma(d, accC);
                else accD = sum.fma(d, accD);
            }
        }
        y[yi] = accA.reduceLanes(VectorOperators.ADD);
        y[yi + yStep] = accB.reduceLanes(VectorOperators.ADD);
        y[yi + 2 * yStep] = accC.reduceLanes(VectorOperators.ADD);
        y[yi + 3 * yStep] = accD.reduceLanes(VectorOperators.ADD);
    }

    /** Signed 8-bit scale at {@code pos}, as float. */
    private static float scale(MemorySegment s, long pos) {
        return s.get(ValueLayout.JAVA_BYTE, pos);
    }
}
