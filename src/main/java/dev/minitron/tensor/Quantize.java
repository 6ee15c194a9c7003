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
 * <p>All methods write little-endian with absolute puts, so the buffer's position and order do not matter and
 * several threads may fill disjoint ranges of one buffer.
 */
public final class Quantize {
    private Quantize() {}

    /** Elements per Q8_0 / Q4_0 block. */
    public static final int QK = 32;

    /**
     * Encodes {@code n} floats {@code src[off..off+n)} as {@code type} into {@code dst} at byte {@code dstPos}.
     * For quantized types {@code n} must be a multiple of 32. Returns the number of bytes written.
     */
    public static int encode(DType type, float[] src, int off, int n, ByteBuffer dst, int dstPos) {
        return switch (type) {
            case F32 -> f32(src, off, n, dst, dstPos);
            case F16 -> f16(src, off, n, dst, dstPos);
            case BF16 -> bf16(src, off, n, dst, dstPos);
            case Q8_0 -> q8_0(src, off, n, dst, dstPos);
            case Q4_0 -> q4_0(src, off, n, dst, dstPos);
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

    /** C's {@code roundf}: nearest integer, halves away from zero (Java's Math.round rounds halves up). */
    static int roundf(float v) {
        // in double, |v| + 0.5 is exact for every float, so floor() sees the true sum
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    private static void checkBlocks(int n) {
        if (n % QK != 0) throw new IllegalArgumentException("block quantization needs a multiple of 32 values, got " + n);
    }
}
