package dev.minitron.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A named view of weights in a memory-mapped file: no copy is made.
 *
 * <p>{@code shape} is in PyTorch order, outermost first: a weight matrix of a {@code Linear(in, out)} has shape
 * {@code [out, in]}, i.e. {@code rows = out}, {@code cols = in}; each row is stored contiguously. (GGUF lists
 * dims innermost first, {@code ne = [in, out]}; its reader reverses them.)
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {

    public Tensor {
        long n = 1;
        for (long d : shape) n *= d;
        long expected = dtype.bytesFor(n);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + dtype + " "
                    + Arrays.toString(shape) + ", expected " + expected);
        }
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Length of the innermost dimension (the input size of a weight matrix). */
    public int cols() { return (int) shape[shape.length - 1]; }

    /** Number of rows: every dimension but the innermost, multiplied. */
    public int rows() { return (int) (numel() / cols()); }

    /** Bytes of one row. */
    public long rowBytes() { return dtype.bytesFor(cols()); }

    /** Dequantizes row {@code row} into {@code dst[off .. off + cols)}. */
    public void readRow(int row, float[] dst, int off) {
        Dequant.dequantize(dtype, data, row * rowBytes(), dst, off, cols());
    }

    /** All elements as float32 (for small tensors: norms, biases, tests). */
    public float[] toFloats() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException(name + " is too large to copy");
        float[] out = new float[(int) n];
        Dequant.dequantize(dtype, data, 0, out, 0, (int) n);
        return out;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
