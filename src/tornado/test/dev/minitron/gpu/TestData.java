package dev.minitron.gpu;

import dev.minitron.tensor.Quantize;

import dev.minitron.gpu.kernels.Batch;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import dev.minitron.tensor.Tensor;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Seeded random inputs for the kernel tests. */
final class TestData {
    private TestData() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A random {@code [rows, cols]} weight matrix in {@code type}, in a native segment like a mapped file. */
    static Tensor matrix(DType type, int rows, int cols, long seed) {
        Random r = new Random(seed);
        long n = (long) rows * cols;
        MemorySegment s = Arena.ofAuto().allocate(type.bytesFor(n), 16);
        switch (type) {
            case F32 -> {
                for (long i = 0; i < n; i++) s.set(F32, 4 * i, r.nextFloat() * 2 - 1);
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) s.set(I16, 2 * i, Dequant.toBf16(r.nextFloat() * 2 - 1));
            }
            case F16 -> {
                for (long i = 0; i < n; i++) s.set(I16, 2 * i, Float.floatToFloat16(r.nextFloat() * 2 - 1));
            }
            case Q8_0 -> {
                for (long b = 0; b < n / 32; b++) {
                    s.set(I16, 34 * b, Float.floatToFloat16(0.001f + 0.05f * r.nextFloat()));
                    for (int j = 0; j < 32; j++) s.set(ValueLayout.JAVA_BYTE, 34 * b + 2 + j, (byte) (r.nextInt(255) - 127));
                }
            }
            case Q4_K, Q6_K -> {
                float[] row = new float[cols];
                long rb = type.bytesFor(cols);
                for (int i = 0; i < rows; i++) {
                    for (int c = 0; c < cols; c++) row[c] = r.nextFloat() * 2 - 1;
                    MemorySegment.copy(MemorySegment.ofArray(Quantize.encode(type, row)), 0, s, i * rb, rb);
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return new Tensor("w", type, new long[]{rows, cols}, s);
    }

    static float[] floats(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = r.nextFloat() * 2 - 1;
        return v;
    }

    static FloatArray floatArray(int n, long seed) {
        return FloatArray.fromArray(floats(n, seed));
    }

    /** A batch of {@code tokens} ids at {@code pos}, sized for {@code maxTokens}. */
    static IntArray batch(int maxTokens, int pos, int tokens, int outCount, int... ids) {
        IntArray b = new IntArray(Batch.size(maxTokens));
        b.init(0);
        b.set(Batch.POS, pos);
        b.set(Batch.COUNT, tokens);
        b.set(Batch.OUT_COUNT, outCount);
        for (int i = 0; i < ids.length; i++) b.set(Batch.TOKENS + i, ids[i]);
        return b;
    }
}
