package dev.minitron.gpu.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * {@code y = W x} (or {@code y += W x}, the residual add) for a batch of token rows, one kernel per weight dtype.
 * W is {@code [rows, cols]} row-major in its file's encoding; x is {@code [tokens, cols]}, y {@code [tokens, rows]}.
 * One work-item per output row: it walks its weight row once per token (after the first token the row comes from
 * cache), accumulating in float32.
 *
 * <p>Each dot product keeps four partial sums (columns {@code c, c+1, c+2, c+3}) added at the end: with a single
 * sum every multiply-add waits for the previous one, which on a CPU core (PoCL) allowed one per 4 cycles. Measured
 * with {@code KernelBench} on PoCL (2 cores), 4096 x 4096: float32 18.7 -> 7.3 ms, bf16 17.4 -> 10.3 ms.
 *
 * <p>{@code countSlot} names the {@link Batch} entry that says how many token rows there are ({@link Batch#COUNT}
 * inside a layer, {@link Batch#OUT_COUNT} for the lm_head). {@code accumulate} = 1 adds into y instead of
 * overwriting it (an int: OpenCL kernels take no bool arguments).
 */
public final class MatVec {
    private MatVec() {}

    public static void matVecF32(FloatArray w, FloatArray x, FloatArray y, IntArray batch,
                                 int rows, int cols, int countSlot, int accumulate) {
        int tokens = batch.get(countSlot);
        for (@Parallel int r = 0; r < rows; r++) {
            int row = r * cols;
            for (int t = 0; t < tokens; t++) {
                int in = t * cols;
                float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                int c = 0;
                for (; c + 3 < cols; c += 4) {
                    s0 += w.get(row + c) * x.get(in + c);
                    s1 += w.get(row + c + 1) * x.get(in + c + 1);
                    s2 += w.get(row + c + 2) * x.get(in + c + 2);
                    s3 += w.get(row + c + 3) * x.get(in + c + 3);
                }
                for (; c < cols; c++) {
                    s0 += w.get(row + c) * x.get(in + c);
                }
                store(y, t * rows + r, (s0 + s1) + (s2 + s3), accumulate);
            }
        }
    }

    /** bfloat16 weights as raw 16-bit words, decoded exactly by {@link Bits16#bf16}. */
    public static void matVecBF16(ShortArray w, FloatArray bf16Scale, FloatArray x, FloatArray y, IntArray batch,
                                  int rows, int cols, int countSlot, int accumulate) {
        int tokens = batch.get(countSlot);
        for (@Parallel int r = 0; r < rows; r++) {
            int row = r * cols;
            for (int t = 0; t < tokens; t++) {
                int in = t * cols;
                float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                int c = 0;
                for (; c + 3 < cols; c += 4) {
                    s0 += Bits16.bf16(w.get(row + c), bf16Scale) * x.get(in + c);
                    s1 += Bits16.bf16(w.get(row + c + 1), bf16Scale) * x.get(in + c + 1);
                    s2 += Bits16.bf16(w.get(row + c + 2), bf16Scale) * x.get(in + c + 2);
                    s3 += Bits16.bf16(w.get(row + c + 3), bf16Scale) * x.get(in + c + 3);
                }
                for (; c < cols; c++) {
                    s0 += Bits16.bf16(w.get(row + c), bf16Scale) * x.get(in + c);
                }
                store(y, t * rows + r, (s0 + s1) + (s2 + s3), accumulate);
            }
        }
    }

    /** IEEE half weights as raw 16-bit words, decoded exactly by {@link Bits16#f16}. */
    public static void matVecF16(ShortArray w, FloatArray f16Scale, FloatArray x, FloatArray y, IntArray batch,
                                 int rows, int cols, int countSlot, int accumulate) {
        int tokens = batch.get(countSlot);
        for (@Parallel int r = 0; r < rows; r++) {
            int row = r * cols;
            for (int t = 0; t < tokens; t++) {
                int in = t * cols;
                float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                int c = 0;
                for (; c + 3 < cols; c += 4) {
                    s0 += Bits16.f16(w.get(row + c), f16Scale) * x.get(in + c);
                    s1 += Bits16.f16(w.get(row + c + 1), f16Scale) * x.get(in + c + 1);
                    s2 += Bits16.f16(w.get(row + c + 2), f16Scale) * x.get(in + c + 2);
                    s3 += Bits16.f16(w.get(row + c + 3), f16Scale) * x.get(in + c + 3);
                }
                for (; c < cols; c++) {
                    s0 += Bits16.f16(w.get(row + c), f16Scale) * x.get(in + c);
                }
                store(y, t * rows + r, (s0 + s1) + (s2 + s3), accumulate);
            }
        }
    }

    /**
     * GGUF Q8_0 weights as their raw blocks: 34 bytes per 32 weights, an f16 scale {@code d} (little-endian) then
     * 32 int8 {@code q}; weight = d * q. Each block's integer-weighted sum (four partial sums) is scaled once.
     */
    public static void matVecQ8_0(ByteArray w, FloatArray f16Scale, FloatArray x, FloatArray y, IntArray batch,
                                  int rows, int cols, int countSlot, int accumulate) {
        int tokens = batch.get(countSlot);
        int blocks = cols / 32;
        for (@Parallel int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    int at = (r * blocks + b) * 34;
                    int in = t * cols + b * 32;
                    float d = Bits16.f16((w.get(at) & 0xFF) | ((w.get(at + 1) & 0xFF) << 8), f16Scale);
                    float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                    for (int j = 0; j < 32; j += 4) {
                        s0 += w.get(at + 2 + j) * x.get(in + j);
                        s1 += w.get(at + 3 + j) * x.get(in + j + 1);
                        s2 += w.get(at + 4 + j) * x.get(in + j + 2);
                        s3 += w.get(at + 5 + j) * x.get(in + j + 3);
                    }
                    sum += d * ((s0 + s1) + (s2 + s3));
                }
                store(y, t * rows + r, sum, accumulate);
            }
        }
    }

    private static void store(FloatArray y, int i, float value, int accumulate) {
        if (accumulate != 0) {
            y.set(i, y.get(i) + value);
        } else {
            y.set(i, value);
        }
    }
}
