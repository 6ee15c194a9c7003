package dev.minitron.gpu.kernels;

import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Decodes bfloat16 and IEEE half words with integer operations and a table of powers of two, so that 16-bit
 * weights can stay 16-bit on devices without fp16 arithmetic (PoCL) and on backends where neither
 * {@code Float.intBitsToFloat} nor TornadoVM's bfloat16 type compiles (OpenCL). The result is exact: a 16-bit
 * float is {@code (implicit bit + mantissa) * 2^(exponent - bias - mantissa bits)}, and the product of a small
 * integer with a power of two is exactly representable in float32.
 *
 * <pre>
 *   bf16: s eeeeeeee mmmmmmm     value = (128 + m) * 2^(e - 134)     e = 0: m * 2^-133
 *   f16:  s eeeee mmmmmmmmmm     value = (1024 + m) * 2^(e - 25)     e = 0: m * 2^-24
 * </pre>
 *
 * The tables hold {@code 2^(max(e,1) - 134)} and {@code 2^(max(e,1) - 25)}, uploaded once. (On a device that
 * flushes subnormals to zero, bf16 weights below 2^-126 decode as 0; no trained weight is that small.)
 */
public final class Bits16 {
    private Bits16() {}

    /** The bfloat16 word {@code bits} (low 16 bits used) as a float. */
    public static float bf16(int bits, FloatArray bf16Scale) {
        int e = (bits >> 7) & 0xFF;
        int m = bits & 0x7F;
        float magnitude = (e == 0 ? m : m + 128) * bf16Scale.get(e);
        return (bits & 0x8000) != 0 ? -magnitude : magnitude;
    }

    /** The IEEE half word {@code bits} (low 16 bits used) as a float. */
    public static float f16(int bits, FloatArray f16Scale) {
        int e = (bits >> 10) & 0x1F;
        int m = bits & 0x3FF;
        float magnitude = (e == 0 ? m : m + 1024) * f16Scale.get(e);
        return (bits & 0x8000) != 0 ? -magnitude : magnitude;
    }

    /** 256 scales for {@link #bf16}. */
    public static FloatArray bf16Scales() {
        FloatArray t = new FloatArray(256);
        for (int e = 0; e < 256; e++) t.set(e, (float) Math.scalb(1.0, Math.max(e, 1) - 134));
        return t;
    }

    /** 32 scales for {@link #f16}. */
    public static FloatArray f16Scales() {
        FloatArray t = new FloatArray(32);
        for (int e = 0; e < 32; e++) t.set(e, (float) Math.scalb(1.0, Math.max(e, 1) - 25));
        return t;
    }
}
