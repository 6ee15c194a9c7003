package dev.minitron.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scalar reference dequantization of the GGUF block-quantized types other than Q8_0 (which lives in
 * {@link Dequant}): Q4_0, Q4_1, Q5_0, Q5_1 (blocks of 32 weights) and the k-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K
 * (super-blocks of 256 weights, {@code QK_K}).
 *
 * <p>Results are bit-for-bit identical to ggml's {@code dequantize_row_*}: every block is expanded with the same
 * float32 operations in the same order (for example Q4_K computes {@code d1 * q - m1} with {@code d1 = d * sc}
 * and {@code m1 = dmin * m} rounded to float first). Java never contracts {@code a * b + c} into a fused
 * multiply-add, and neither does ggml's scalar reference, so the roundings agree.
 *
 * <p>All multi-byte fields are little-endian; {@code half} is an IEEE binary16. Weights of a block are written in
 * the order ggml writes them, which is the order of the row in memory.
 */
final class KQuants {
    private KQuants() {}

    /** Weights per k-quant super-block. */
    static final int QK_K = 256;

    /**
     * Dequantizes {@code n} weights (a multiple of the type's block size) starting at byte {@code offset} of
     * {@code src} into {@code dst[dstOff .. dstOff + n)}.
     */
    static void dequantize(DType type, MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        int bs = type.blockSize();
        if (n % bs != 0) {
            throw new IllegalArgumentException(type + " dequantizes whole blocks of " + bs + " weights, got n = " + n);
        }
        int blocks = n / bs;
        long bb = type.blockBytes();
        for (int b = 0; b < blocks; b++) {
            long blk = offset + bb * b;
            int y = dstOff + bs * b;
            switch (type) {
                case Q4_0 -> q4_0(src, blk, dst, y);
                case Q4_1 -> q4_1(src, blk, dst, y);
                case Q5_0 -> q5_0(src, blk, dst, y);
                case Q5_1 -> q5_1(src, blk, dst, y);
                case Q2_K -> q2_K(src, blk, dst, y);
                case Q3_K -> q3_K(src, blk, dst, y);
                case Q4_K -> q4_K(src, blk, dst, y);
                case Q5_K -> q5_K(src, blk, dst, y);
                case Q6_K -> q6_K(src, blk, dst, y);
                default -> throw new IllegalArgumentException("KQuants does not handle " + type);
            }
        }
    }

    /** Unsigned byte at {@code pos}. */
    private static int u8(MemorySegment s, long pos) {
        return s.get(ValueLayout.JAVA_BYTE, pos) & 0xFF;
    }

    /** Signed byte at {@code pos}. */
    private static int i8(MemorySegment s, long pos) {
        return s.get(ValueLayout.JAVA_BYTE, pos);
    }

    /** Little-endian uint32 at {@code pos} (as int bits). */
    private static int u32(MemorySegment s, long pos) {
        return u8(s, pos) | u8(s, pos + 1) << 8 | u8(s, pos + 2) << 16 | u8(s, pos + 3) << 24;
    }

    private static float f16(MemorySegment s, long pos) {
        return Dequant.f16(s, pos);
    }

    /**
     * Q4_0, 18 bytes for 32 weights:
     * <pre>
     * struct block_q4_0 { half d; uint8 qs[16]; }
     * </pre>
     * Weight {@code j} (j &lt; 16) is the low nibble of {@code qs[j]}, weight {@code j + 16} its high nibble;
     * {@code w = (q - 8) * d}.
     */
    static void q4_0(MemorySegment s, long blk, float[] y, int o) {
        float d = f16(s, blk);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, blk + 2 + j);
            y[o + j] = ((q & 0x0F) - 8) * d;
            y[o + j + 16] = ((q >>> 4) - 8) * d;
        }
    }

    /**
     * Q4_1, 20 bytes for 32 weights:
     * <pre>
     * struct block_q4_1 { half d; half m; uint8 qs[16]; }
     * </pre>
     * Nibbles as in Q4_0, unsigned; {@code w = q * d + m}.
     */
    static void q4_1(MemorySegment s, long blk, float[] y, int o) {
        float d = f16(s, blk);
        float m = f16(s, blk + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, blk + 4 + j);
            y[o + j] = (q & 0x0F) * d + m;
            y[o + j + 16] = (q >>> 4) * d + m;
        }
    }

    /**
     * Q5_0, 22 bytes for 32 weights:
     * <pre>
     * struct block_q5_0 { half d; uint8 qh[4]; uint8 qs[16]; }
     * </pre>
     * {@code qh} is a little-endian uint32 whose bit {@code j} is the fifth bit of weight {@code j}. The low four
     * bits come from the nibbles of {@code qs} as in Q4_0; {@code w = (q - 16) * d}.
     */
    static void q5_0(MemorySegment s, long blk, float[] y, int o) {
        float d = f16(s, blk);
        int qh = u32(s, blk + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, blk + 6 + j);
            int h0 = ((qh >>> j) << 4) & 0x10;
            int h1 = (qh >>> (j + 12)) & 0x10;
            y[o + j] = (((q & 0x0F) | h0) - 16) * d;
            y[o + j + 16] = (((q >>> 4) | h1) - 16) * d;
        }
    }

    /**
     * Q5_1, 24 bytes for 32 weights:
     * <pre>
     * struct block_q5_1 { half d; half m; uint8 qh[4]; uint8 qs[16]; }
     * </pre>
     * Bits as in Q5_0, unsigned; {@code w = q * d + m}.
     */
    static void q5_1(MemorySegment s, long blk, float[] y, int o) {
        float d = f16(s, blk);
        float m = f16(s, blk + 2);
        int qh = u32(s, blk + 4);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, blk + 8 + j);
            int h0 = ((qh >>> j) << 4) & 0x10;
            int h1 = (qh >>> (j + 12)) & 0x10;
            y[o + j] = ((q & 0x0F) | h0) * d + m;
            y[o + j + 16] = ((q >>> 4) | h1) * d + m;
        }
    }

    /**
     * Q2_K, 84 bytes for 256 weights:
     * <pre>
     * struct block_q2_K { uint8 scales[16]; uint8 qs[64]; half d; half dmin; }
     * </pre>
     * 16 sub-blocks of 16 weights; {@code scales[i]} holds the 4-bit scale (low nibble) and 4-bit min (high
     * nibble) of sub-block {@code i}. The 2-bit quants: the two halves of 128 weights use {@code qs[0..32)} and
     * {@code qs[32..64)}; within a half, group {@code g} (0..3) of 32 weights takes bits {@code 2g..2g+1} of
     * those 32 bytes (two sub-blocks of 16). {@code w = (d * sc) * q - (dmin * m)}.
     */
    static void q2_K(MemorySegment s, long blk, float[] y, int o) {
        long scales = blk, qs = blk + 16;
        float d = f16(s, blk + 80);
        float dmin = f16(s, blk + 82);
        int is = 0;
        for (int half = 0; half < 2; half++) {
            long q = qs + 32L * half;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int k = 0; k < 2; k++) {   // two sub-blocks of 16 weights: q[0..16) and q[16..32)
                    int sc = u8(s, scales + is++);
                    float dl = d * (sc & 0x0F);
                    float ml = dmin * (sc >>> 4);
                    for (int l = 0; l < 16; l++) {
                        y[o++] = dl * ((u8(s, q + 16 * k + l) >>> shift) & 3) - ml;
                    }
                }
            }
        }
    }

    /**
     * Q3_K, 110 bytes for 256 weights:
     * <pre>
     * struct block_q3_K { uint8 hmask[32]; uint8 qs[64]; uint8 scales[12]; half d; }
     * </pre>
     * 16 sub-blocks of 16 weights with signed 6-bit scales stored with an offset of 32: the low four bits of
     * scale {@code i} are the low nibble of {@code scales[i]} (i &lt; 8) or the high nibble of
     * {@code scales[i - 8]}; its high two bits are bits {@code 2*(i/4)..} of {@code scales[8 + i % 4]}.
     * The low two bits of each quant are laid out as in Q2_K; the third bit is bit {@code g} (the group 0..7 of
     * 32 weights) of {@code hmask[l]}, where a clear bit subtracts 4. {@code w = (d * (sc - 32)) * q} with
     * {@code q} in -4..3.
     */
    static void q3_K(MemorySegment s, long blk, float[] y, int o) {
        long hmask = blk, qs = blk + 32, scales = blk + 96;
        float d = f16(s, blk + 108);
        int[] sc = new int[16];
        for (int i = 0; i < 16; i++) {
            int low = i < 8 ? u8(s, scales + i) & 0x0F : u8(s, scales + i - 8) >>> 4;
            int high = (u8(s, scales + 8 + (i & 3)) >>> (2 * (i >>> 2))) & 3;
            sc[i] = (low | high << 4) - 32;
        }
        int is = 0;
        int m = 1;   // bit of hmask for the current group of 32 weights
        for (int half = 0; half < 2; half++) {
            long q = qs + 32L * half;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int k = 0; k < 2; k++) {
                    float dl = d * sc[is++];
                    for (int l = 16 * k; l < 16 * k + 16; l++) {
                        int lo = (u8(s, q + l) >>> shift) & 3;
                        int hi = (u8(s, hmask + l) & m) != 0 ? 0 : 4;
                        y[o++] = dl * (lo - hi);
                    }
                }
                m <<= 1;
            }
        }
    }

    /**
     * The 6-bit scale and min of sub-block {@code j} (0..7) of a Q4_K/Q5_K block, packed in 12 bytes {@code q}:
     * for j &lt; 4, scale = {@code q[j] & 63}, min = {@code q[j+4] & 63}; for j &ge; 4 the low four bits come
     * from the nibbles of {@code q[j+4]} and the high two bits from the top bits of {@code q[j-4]} (scale)
     * and {@code q[j]} (min). Returns {@code scale | min << 8}.
     */
    private static int scaleMinK4(MemorySegment s, long q, int j) {
        int sc, m;
        if (j < 4) {
            sc = u8(s, q + j) & 63;
            m = u8(s, q + j + 4) & 63;
        } else {
            sc = (u8(s, q + j + 4) & 0x0F) | ((u8(s, q + j - 4) >>> 6) << 4);
            m = (u8(s, q + j + 4) >>> 4) | ((u8(s, q + j) >>> 6) << 4);
        }
        return sc | m << 8;
    }

    /**
     * Q4_K, 144 bytes for 256 weights:
     * <pre>
     * struct block_q4_K { half d; half dmin; uint8 scales[12]; uint8 qs[128]; }
     * </pre>
     * 8 sub-blocks of 32 weights with 6-bit scales and mins (see {@link #scaleMinK4}). Each 64 weights use 32
     * bytes of {@code qs}: the first 32 weights are the low nibbles, the next 32 the high nibbles.
     * {@code w = d1 * q - m1} with {@code d1 = d * sc}, {@code m1 = dmin * m}.
     */
    static void q4_K(MemorySegment s, long blk, float[] y, int o) {
        float d = f16(s, blk);
        float dmin = f16(s, blk + 2);
        long scales = blk + 4, qs = blk + 16;
        for (int j = 0; j < 4; j++) {   // 64 weights per step
            int sm1 = scaleMinK4(s, scales, 2 * j);
            int sm2 = scaleMinK4(s, scales, 2 * j + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >>> 8);
            float d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >>> 8);
            long q = qs + 32L * j;
            for (int l = 0; l < 32; l++) y[o + l] = d1 * (u8(s, q + l) & 0x0F) - m1;
            for (int l = 0; l < 32; l++) y[o + 32 + l] = d2 * (u8(s, q + l) >>> 4) - m2;
            o += 64;
        }
    }

    /**
     * Q5_K, 176 bytes for 256 weights:
     * <pre>
     * struct block_q5_K { half d; half dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]; }
     * </pre>
     * As Q4_K, plus a fifth bit (worth 16) per weight: for the sub-block {@code i} (0..7) of 32 weights it is bit
     * {@code i} of {@code qh[l]}. {@code w = d1 * q - m1}.
     */
    static void q5_K(MemorySegment s, long blk, float[] y, int o) {
        float d = f16(s, blk);
        float dmin = f16(s, blk + 2);
        long scales = blk + 4, qh = blk + 16, qs = blk + 48;
        for (int j = 0; j < 4; j++) {
            int sm1 = scaleMinK4(s, scales, 2 * j);
            int sm2 = scaleMinK4(s, scales, 2 * j + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >>> 8);
            float d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >>> 8);
            int u1 = 1 << (2 * j), u2 = 2 << (2 * j);
            long q = qs + 32L * j;
            for (int l = 0; l < 32; l++) {
                int h = (u8(s, qh + l) & u1) != 0 ? 16 : 0;
                y[o + l] = d1 * ((u8(s, q + l) & 0x0F) + h) - m1;
            }
            for (int l = 0; l < 32; l++) {
                int h = (u8(s, qh + l) & u2) != 0 ? 16 : 0;
                y[o + 32 + l] = d2 * ((u8(s, q + l) >>> 4) + h) - m2;
            }
            o += 64;
        }
    }

    /**
     * Q6_K, 210 bytes for 256 weights:
     * <pre>
     * struct block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; }
     * </pre>
     * 16 sub-blocks of 16 weights with signed 8-bit scales. Each half of 128 weights uses 64 bytes of {@code ql}
     * and 32 of {@code qh}; for {@code l} in 0..31 its weights {@code l, l+32, l+64, l+96} take the low nibble of
     * {@code ql[l]}, the low nibble of {@code ql[l+32]}, the high nibble of {@code ql[l]}, the high nibble of
     * {@code ql[l+32]}, and bits 0-1, 2-3, 4-5, 6-7 of {@code qh[l]} as their top two bits.
     * {@code w = (d * sc) * (q - 32)}.
     */
    static void q6_K(MemorySegment s, long blk, float[] y, int o) {
        float d = f16(s, blk + 208);
        for (int half = 0; half < 2; half++) {
            long ql = blk + 64L * half;
            long qh = blk + 128 + 32L * half;
            long sc = blk + 192 + 8L * half;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int a = u8(s, ql + l), b = u8(s, ql + l + 32), h = u8(s, qh + l);
                int q1 = ((a & 0x0F) | ((h & 3) << 4)) - 32;
                int q2 = ((b & 0x0F) | (((h >>> 2) & 3) << 4)) - 32;
                int q3 = ((a >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                int q4 = ((b >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                y[o + l] = d * i8(s, sc + is) * q1;
                y[o + l + 32] = d * i8(s, sc + is + 2) * q2;
                y[o + l + 64] = d * i8(s, sc + is + 4) * q3;
                y[o + l + 96] = d * i8(s, sc + is + 6) * q4;
            }
            o += 128;
        }
    }
}
