package dev.minitron.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes float32 values into the byte layout of a {@link DType}: the inverse of {@link Dequant}.
 *
 * <p>The block quantizers follow ggml's scalar reference rules bit for bit, so a file written here holds the
 * same bytes that {@code llama-quantize} / {@code convert_hf_to_gguf.py} would write for the same floats:
 * <ul>
 *   <li>Q8_0 ({@code quantize_row_q8_0_ref}): per block of 32, {@code d = amax / 127} (float), stored as f16;
 *       {@code q = roundf(x * (1/d))} (round half away from zero), int8.</li>
 *   <li>Q4_0 ({@code quantize_row_q4_0_ref}): per block of 32, {@code max} = the value of largest magnitude
 *       (the first one on ties), {@code d = max / -8}, stored as f16;
 *       {@code q = min(15, (int8)(x * (1/d) + 8.5))}; byte {@code j} holds element {@code j} in its low nibble
 *       and element {@code j + 16} in its high nibble. Dequantized: {@code (q - 8) * d}.</li>
 * </ul>
 * Note that both use {@code 1/d} computed from the float {@code d}, not from its f16 rounding.
 *
 * <p>The k-quants Q4_K and Q6_K ({@link #q4_K}, {@link #q6_K}; super-blocks of {@value #QK_K} weights) are
 * <em>not</em> llama.cpp's quantizers: {@code llama-quantize} searches scales and mins iteratively to minimize the
 * (optionally importance-weighted) squared error, while these take each sub-block's range directly. They write
 * valid blocks that every GGUF reader decodes, with an error a little above llama.cpp's (see the methods), but not
 * the same bytes {@code llama-quantize} would write.
 *
 * <p>All methods write little-endian with absolute puts, so the buffer's position and order do not matter and
 * several threads may fill disjoint ranges of one buffer.
 */
public final class Quantize {
    private Quantize() {}

    /** Elements per Q8_0 / Q4_0 block. */
    public static final int QK = 32;

    /** Elements per k-quant (Q4_K, Q6_K) super-block. */
    public static final int QK_K = 256;

    /**
     * Encodes {@code n} floats {@code src[off..off+n)} as {@code type} into {@code dst} at byte {@code dstPos}.
     * For quantized types {@code n} must be a multiple of the type's block size (32, or 256 for the k-quants).
     * Returns the number of bytes written.
     */
    public static int encode(DType type, float[] src, int off, int n, ByteBuffer dst, int dstPos) {
        return switch (type) {
            case F32 -> f32(src, off, n, dst, dstPos);
            case F16 -> f16(src, off, n, dst, dstPos);
            case BF16 -> bf16(src, off, n, dst, dstPos);
            case Q8_0 -> q8_0(src, off, n, dst, dstPos);
            case Q4_0 -> q4_0(src, off, n, dst, dstPos);
            case Q4_K -> q4_K(src, off, n, dst, dstPos);
            case Q6_K -> q6_K(src, off, n, dst, dstPos);
            default -> throw new UnsupportedOperationException("quantization to " + type + " is not implemented");
        };
    }

    /** Convenience for small inputs and tests: encodes all of {@code src} into a new array. */
    public static byte[] encode(DType type, float[] src) {
        byte[] out = new byte[Math.toIntExact(type.bytesFor(src.length))];
        encode(type, src, 0, src.length, ByteBuffer.wrap(out), 0);
        return out;
    }

    public static int f32(float[] src, int off, int n, ByteBuffer dst, int pos) {
        ByteBuffer le = dst.order() == ByteOrder.LITTLE_ENDIAN ? dst : dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) le.putFloat(pos + 4 * i, src[off + i]);
        return 4 * n;
    }

    public static int f16(float[] src, int off, int n, ByteBuffer dst, int pos) {
        ByteBuffer le = dst.order() == ByteOrder.LITTLE_ENDIAN ? dst : dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) le.putShort(pos + 2 * i, Float.floatToFloat16(src[off + i]));
        return 2 * n;
    }

    public static int bf16(float[] src, int off, int n, ByteBuffer dst, int pos) {
        ByteBuffer le = dst.order() == ByteOrder.LITTLE_ENDIAN ? dst : dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) le.putShort(pos + 2 * i, Dequant.toBf16(src[off + i]));
        return 2 * n;
    }

    public static int q8_0(float[] src, int off, int n, ByteBuffer dst, int pos) {
        checkBlocks(n);
        ByteBuffer le = dst.order() == ByteOrder.LITTLE_ENDIAN ? dst : dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = pos;
        for (int b = off; b < off + n; b += QK) {
            float amax = 0f;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[b + j]));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            le.putShort(p, Float.floatToFloat16(d));
            for (int j = 0; j < QK; j++) le.put(p + 2 + j, (byte) roundf(src[b + j] * id));
            p += 34;
        }
        return p - pos;
    }

    public static int q4_0(float[] src, int off, int n, ByteBuffer dst, int pos) {
        checkBlocks(n);
        ByteBuffer le = dst.order() == ByteOrder.LITTLE_ENDIAN ? dst : dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = pos;
        for (int b = off; b < off + n; b += QK) {
            float amax = 0f, max = 0f;
            for (int j = 0; j < QK; j++) {
                float v = src[b + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            le.putShort(p, Float.floatToFloat16(d));
            for (int j = 0; j < QK / 2; j++) {
                // (int8_t) cast in C truncates toward zero; the operand lies in [0.5, 16.5] here.
                int lo = Math.min(15, (int) (src[b + j] * id + 8.5f));
                int hi = Math.min(15, (int) (src[b + QK / 2 + j] * id + 8.5f));
                le.put(p + 2 + j, (byte) (lo | (hi << 4)));
            }
            p += 18;
        }
        return p - pos;
    }

    /**
     * Q4_K (layout in {@code KQuants.q4_K}): per super-block of 256 weights, 8 sub-blocks of 32 with a 6-bit scale
     * {@code sc} and 6-bit min {@code m}, and f16 super-scales {@code d}, {@code dmin}; weight
     * {@code w = (d*sc)*q - dmin*m}, {@code q} in 0..15.
     *
     * <p>Straightforward rule, no search (unlike llama.cpp's {@code make_qkx2_quants}, so the bytes differ from
     * {@code llama-quantize}'s):
     * <ol>
     *   <li>per sub-block {@code lo = min(0, min x)} (the offset {@code -dmin*m} can only be &le; 0) and {@code hi = max x};</li>
     *   <li>{@code dmin} = the f16 at or above {@code max(-lo) / 63}; {@code m = ceil(-lo / dmin)}, so the decoded
     *       offset {@code -dmin*m} is at or below {@code lo};</li>
     *   <li>the step each sub-block needs to reach {@code hi} from that offset is {@code (hi + dmin*m) / 15.5}
     *       (the top level 15 still covers half a step above it); {@code d} = the f16 at or above the largest
     *       step / 63, {@code sc = ceil(step / d)};</li>
     *   <li>{@code q = round((x + dmin*m) / (d*sc))} with the <em>stored</em> (f16, 6-bit) values.</li>
     * </ol>
     * Every value then lies within half a step {@code d*sc} of its decoded value (up to float rounding), a step
     * at most {@code (hi - lo + dmin) / 15.5 + d}. Relative RMS error: about 0.077 on Gaussian data; on the tiny-k
     * fixture's token_embd 0.079 where llama.cpp's search has 0.073.
     */
    public static int q4_K(float[] src, int off, int n, ByteBuffer dst, int pos) {
        checkSuperBlocks(n);
        ByteBuffer le = dst.order() == ByteOrder.LITTLE_ENDIAN ? dst : dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] negLo = new float[8], hi = new float[8];
        double[] step = new double[8];
        int[] sc = new int[8], m = new int[8];
        byte[] q = new byte[QK_K];
        int p = pos;
        for (int b = off; b < off + n; b += QK_K, p += 144) {
            float maxNegLo = 0f;
            for (int j = 0; j < 8; j++) {
                float mn = 0f, mx = Float.NEGATIVE_INFINITY;
                for (int l = 0; l < 32; l++) {
                    float v = src[b + 32 * j + l];
                    mn = Math.min(mn, v);
                    mx = Math.max(mx, v);
                }
                negLo[j] = -mn;
                hi[j] = mx;
                maxNegLo = Math.max(maxNegLo, -mn);
            }
            short dminBits = f16AtLeast(maxNegLo / 63.0);
            float dmin = Float.float16ToFloat(dminBits);
            double maxStep = 0;
            for (int j = 0; j < 8; j++) {
                m[j] = dmin > 0f ? Math.min(63, (int) Math.ceil(negLo[j] / (double) dmin)) : 0;
                float m1 = dmin * m[j];
                step[j] = Math.max(0.0, ((double) hi[j] + m1) / 15.5);
                maxStep = Math.max(maxStep, step[j]);
            }
            short dBits = f16AtLeast(maxStep / 63.0);
            float d = Float.float16ToFloat(dBits);
            for (int j = 0; j < 8; j++) {
                sc[j] = step[j] > 0 && d > 0f ? Math.clamp((long) Math.ceil(step[j] / d), 1, 63) : 0;
                float d1 = d * sc[j], m1 = dmin * m[j];
                float id = d1 > 0f ? 1f / d1 : 0f;
                for (int l = 0; l < 32; l++) {
                    q[32 * j + l] = (byte) Math.clamp(Math.round((src[b + 32 * j + l] + m1) * id), 0, 15);
                }
            }
            le.putShort(p, dBits);
            le.putShort(p + 2, dminBits);
            for (int j = 0; j < 4; j++) {
                le.put(p + 4 + j, (byte) (sc[j] | (sc[j + 4] >>> 4) << 6));
                le.put(p + 8 + j, (byte) (m[j] | (m[j + 4] >>> 4) << 6));
                le.put(p + 12 + j, (byte) ((sc[j + 4] & 0x0F) | (m[j + 4] & 0x0F) << 4));
            }
            for (int j = 0; j < 4; j++) {   // 64 weights per 32 bytes: low nibbles, then high nibbles
                for (int l = 0; l < 32; l++) {
                    le.put(p + 16 + 32 * j + l, (byte) (q[64 * j + l] | q[64 * j + 32 + l] << 4));
                }
            }
        }
        return p - pos;
    }

    /**
     * Q6_K (layout in {@code KQuants.q6_K}): per super-block of 256 weights, 16 sub-blocks of 16 with a signed
     * 8-bit scale {@code sc} and an f16 super-scale {@code d}; weight {@code w = (d*sc)*q}, {@code q} in -32..31.
     *
     * <p>Straightforward rule, no search (unlike llama.cpp's {@code make_qx_quants}, so the bytes differ from
     * {@code llama-quantize}'s): per sub-block the step {@code amax / 31.5} (levels -31..31, which cover half a
     * step beyond them; -32 is not used), {@code d} = the f16 at or above the largest step / 127,
     * {@code sc = ceil(step / d)} (1..127), {@code q = round(x / (d*sc))}. Every value lies within half a step
     * {@code d*sc} of its decoded value (up to float rounding), a step at most {@code amax / 31.5 + d}. Relative
     * RMS error: about 0.020 on Gaussian data; on 512 original weights of the tiny-k fixture 0.0197 where
     * llama.cpp's search has 0.0176.
     */
    public static int q6_K(float[] src, int off, int n, ByteBuffer dst, int pos) {
        checkSuperBlocks(n);
        ByteBuffer le = dst.order() == ByteOrder.LITTLE_ENDIAN ? dst : dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        double[] step = new double[16];
        int[] sc = new int[16];
        int[] q = new int[QK_K];
        int p = pos;
        for (int b = off; b < off + n; b += QK_K, p += 210) {
            double maxStep = 0;
            for (int j = 0; j < 16; j++) {
                float amax = 0f;
                for (int l = 0; l < 16; l++) amax = Math.max(amax, Math.abs(src[b + 16 * j + l]));
                step[j] = amax / 31.5;
                maxStep = Math.max(maxStep, step[j]);
            }
            short dBits = f16AtLeast(maxStep / 127.0);
            float d = Float.float16ToFloat(dBits);
            for (int j = 0; j < 16; j++) {
                sc[j] = step[j] > 0 && d > 0f ? Math.clamp((long) Math.ceil(step[j] / d), 1, 127) : 0;
                float d1 = d * sc[j];
                float id = d1 > 0f ? 1f / d1 : 0f;
                for (int l = 0; l < 16; l++) {
                    q[16 * j + l] = Math.clamp(Math.round(src[b + 16 * j + l] * id), -32, 31) + 32;
                }
            }
            for (int half = 0; half < 2; half++) {
                int ql = p + 64 * half, qh = p + 128 + 32 * half, o = 128 * half;
                for (int l = 0; l < 32; l++) {
                    int q1 = q[o + l], q2 = q[o + l + 32], q3 = q[o + l + 64], q4 = q[o + l + 96];
                    le.put(ql + l, (byte) ((q1 & 0x0F) | (q3 & 0x0F) << 4));
                    le.put(ql + l + 32, (byte) ((q2 & 0x0F) | (q4 & 0x0F) << 4));
                    le.put(qh + l, (byte) ((q1 >>> 4) | (q2 >>> 4) << 2 | (q3 >>> 4) << 4 | (q4 >>> 4) << 6));
                }
            }
            for (int j = 0; j < 16; j++) le.put(p + 192 + j, (byte) sc[j]);
            le.putShort(p + 208, dBits);
        }
        return p - pos;
    }

    /**
     * The bits of the smallest non-negative f16 that is at least {@code v} (v &ge; 0): a super-scale rounded up,
     * so no sub-block scale needs more than its 6 or 8 bits. Values beyond f16's range give its largest finite value.
     */
    static short f16AtLeast(double v) {
        short h = Float.floatToFloat16((float) v);
        if (Float.float16ToFloat(h) < v && h < 0x7BFF) h++;   // positive f16 bit patterns are ordered like their values
        return (short) Math.min(h & 0xFFFF, 0x7BFF);
    }

    /** C's {@code roundf}: nearest integer, halves away from zero (Java's Math.round rounds halves up). */
    static int roundf(float v) {
        // in double, |v| + 0.5 is exact for every float, so floor() sees the true sum
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    private static void checkSuperBlocks(int n) {
        if (n % QK_K != 0) throw new IllegalArgumentException("k-quant quantization needs a multiple of 256 values, got " + n);
    }

    private static void checkBlocks(int n) {
        if (n % QK != 0) throw new IllegalArgumentException("block quantization needs a multiple of 32 values, got " + n);
    }
}
