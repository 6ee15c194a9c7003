package dev.minitron.tensor;

import java.lang.foreign.MemorySegment;

/** Scalar dequantization of the GGUF block-quantized types other than Q8_0 (placeholder, filled in below). */
final class KQuants {
    private KQuants() {}

    static void dequantize(DType type, MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        throw new UnsupportedOperationException("dequantization of " + type + " is not implemented yet");
    }
}
