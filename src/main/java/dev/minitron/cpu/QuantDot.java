package dev.minitron.cpu;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;

import java.lang.foreign.MemorySegment;

/**
 * Dot products for the block-quantized types without a dedicated Vector API kernel: dequantize one
 * super-block at a time into a small thread-local buffer and dot it with the activations.
 */
final class QuantDot {
    private QuantDot() {}

    private static final ThreadLocal<float[]> BUF = ThreadLocal.withInitial(() -> new float[256]);

    static float dot(DType t, MemorySegment s, long off, float[] x, int xOff, int n) {
        float[] buf = BUF.get();
        int bs = t.blockSize();
        float sum = 0;
        for (int b = 0; b < n / bs; b++) {
            Dequant.dequantize(t, s, off + (long) b * t.blockBytes(), buf, 0, bs);
            sum += VecDot.dot(buf, 0, x, xOff + b * bs, bs);
        }
        return sum;
    }
}
