package dev.minitron.cpu;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import dev.minitron.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API matrix products (decode and prefill paths) against a plain-Java double-precision reference built
 * on the scalar {@link Dequant}. Tolerance: 1e-5 x sum|w*x| per output, i.e. float32 accumulation error over the
 * row; a wrong element order, a wrong scale or a dropped tail moves results by orders of magnitude more.
 */
class MatMulTest {

    @ParameterizedTest(name = "{0} {1}x{2} T={3} threads={4}")
    @CsvSource({
            "F32, 37, 96, 1, 1", "F32, 64, 256, 5, 2",
            "BF16, 40, 256, 1, 2", "BF16, 33, 96, 1, 1", "BF16, 41, 512, 7, 2", "BF16, 8, 48, 3, 1",
            "F16, 40, 256, 1, 2", "F16, 9, 80, 4, 2",
            "Q8_0, 40, 256, 1, 2", "Q8_0, 13, 96, 6, 2", "Q8_0, 8, 32, 2, 1",
            "Q4_0, 40, 256, 1, 2", "Q4_0, 9, 96, 3, 1",
            // Q4_K/Q6_K: below MatMul.LANE_BATCH tokens the decode kernels run per token, from it the prefill path
            "Q4_K, 40, 768, 1, 2", "Q4_K, 7, 256, 1, 1", "Q4_K, 9, 512, 5, 2", "Q4_K, 9, 512, 17, 2",
            "Q6_K, 40, 512, 1, 2", "Q6_K, 9, 256, 3, 1", "Q6_K, 9, 256, 16, 1",
    })
    void matchesScalarReference(DType type, int rows, int cols, int tokens, int threads) {
        SplittableRandom r = new SplittableRandom(rows * 31L + cols + tokens);
        Tensor w = random(type, rows, cols, r);
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] y = new float[tokens * rows];
        try (Parallel par = new Parallel(threads)) {
            MatMul.matMul(w, x, tokens, y, par);
        }
        float[] row = new float[cols];
        for (int o = 0; o < rows; o++) {
            Dequant.dequantize(type, w.data(), o * w.rowBytes(), row, 0, cols);
            for (int t = 0; t < tokens; t++) {
                double ref = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    ref += (double) row[c] * x[t * cols + c];
                    mag += Math.abs((double) row[c] * x[t * cols + c]);
                }
                double err = Math.abs(y[t * rows + o] - ref);
                assertTrue(err <= 1e-5 * mag + 1e-30, type + " row " + o + " token " + t + ": " + y[t * rows + o] + " vs " + ref);
            }
        }
    }

    /** A tensor of random values in {@code type}, in native memory like a mapped file. */
    static Tensor random(DType type, int rows, int cols, SplittableRandom r) {
        long n = (long) rows * cols;
        MemorySegment s = Arena.ofAuto().allocate(type.bytesFor(n), 64);
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED;
        switch (type) {
            case F32 -> { for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian()); }
            case BF16 -> { for (long i = 0; i < n; i++) s.set(i16, 2 * i, Dequant.toBf16((float) r.nextGaussian())); }
            case F16 -> { for (long i = 0; i < n; i++) s.set(i16, 2 * i, Float.floatToFloat16((float) r.nextGaussian() * (i % 7 == 0 ? 1e-5f : 1f))); }
            case Q8_0 -> {
                for (long b = 0; b < n / 32; b++) {
                    s.set(i16, 34 * b, Float.floatToFloat16((float) (0.001 + r.nextDouble() * 0.02)));
                    for (int j = 0; j < 32; j++) s.set(ValueLayout.JAVA_BYTE, 34 * b + 2 + j, (byte) (r.nextInt(255) - 127));
                }
            }
            case Q4_0, Q4_K, Q6_K -> {
                // random quants and scales, with the block's f16 factors set to small sane values
                int block = (int) type.bytesFor(type.blockSize());
                for (long i = 0; i < s.byteSize(); i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
                for (long b = 0; b < s.byteSize(); b += block) {
                    float d = (float) (0.001 + r.nextDouble() * 0.02);
                    if (type == DType.Q6_K) s.set(i16, b + 208, Float.floatToFloat16(d));
                    else s.set(i16, b, Float.floatToFloat16(d));
                    if (type == DType.Q4_K) s.set(i16, b + 2, Float.floatToFloat16(d / 2));
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return new Tensor("w", type, new long[]{rows, cols}, s);
    }
}
