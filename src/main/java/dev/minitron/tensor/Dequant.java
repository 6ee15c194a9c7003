package dev.minitron.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar reference dequantization of every {@link DType} to float32 (the fast paths live in
 * {@code dev.minitron.cpu}). Layouts follow ggml's {@code block_*} structs; all values are little-endian.
 */
public final class Dequant {
    private Dequant() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Dequantizes {@code n} elements starting at byte {@code offset} of {@code src} into {@code dst[dstOff..]}. */
    public static void dequantize(DType type, MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, offset, dst, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = f16(src, offset + 2L * i);
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = bf16(src, offset + 2L * i);
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long blk = offset + 34L * b;
                    float d = f16(src, blk);
                    for (int j = 0; j < 32; j++) dst[dstOff + 32 * b + j] = d * src.get(ValueLayout.JAVA_BYTE, blk + 2 + j);
                }
            }
            default -> KQuants.dequantize(type, src, offset, dst, dstOff, n);
        }
    }

    /** IEEE half at byte {@code pos}. */
    public static float f16(MemorySegment s, long pos) {
        return Float.float16ToFloat(s.get(I16, pos));
    }

    /** bfloat16 at byte {@code pos}: the top 16 bits of a float32. */
    public static float bf16(MemorySegment s, long pos) {
        return Float.intBitsToFloat(s.get(I16, pos) << 16);
    }

    /** Rounds a float32 to the nearest bfloat16 (ties to even), as PyTorch does; NaN stays NaN. */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
