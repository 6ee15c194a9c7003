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
 * cache), accumulating in float32 in column order.
 *
 * <p>{@code countSlot} names the {@link Batch} entry that says how many token rows there are ({@link Batch#COUNT}
 * inside a layer, {@link Batch#OUT_COUNT} for the lm_head). {@code accumulate} = 1 adds into y instead of
 * overwriting it (an int: OpenCL kernels take no bool arguments) (o_proj and down_proj add straight into the residual stream).
 */
public final class MatVec {
    private MatVec() {}

    public static void matVecF32(FloatArray w, FloatArray x, FloatArray y, IntArray batch,
                                 int rows, int cols, int countSlot, int accumulate) {
        int tokens = batch.get(countSlot);
        for (@Parallel int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float sum = 0f;
                for (int c = 0; c < cols; c++) {
                    sum += w.get(r * cols + c) * x.get(t * cols + c);
                }
                store(y, t * rows + r, sum, accumulate);
            }
        }
    }

    /** bfloat16 weights as raw 16-bit words, decoded exactly by {@link Bits16#bf16}. */
    public static void matVecBF16(ShortArray w, FloatArray bf16Scale, FloatArray x, FloatArray y, IntArray batch,
                                  int rows, int cols, int countSlot, int accumulate) {
        int tokens = batch.get(countSlot);
        for (@Parallel int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float sum = 0f;
                for (int c = 0; c < cols; c++) {
                    sum += Bits16.bf16(w.get(r * cols + c), bf16Scale) * x.get(t * cols + c);
                }
                store(y, t * rows + r, sum, accumulate);
            }
        }
    }

    /** IEEE half weights as raw 16-bit words, decoded exactly by {@link Bits16#f16}. */
    public static void matVecF16(ShortArray w, FloatArray f16Scale, FloatArray x, FloatArray y, IntArray batch,
                                 int rows, int cols, int countSlot, int accumulate) {
        int tokens = batch.get(countSlot);
        for (@Parallel int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float sum = 0f;
                for (int c = 0; c < cols; c++) {
                    sum += Bits16.f16(w.get(r * cols + c), f16Scale) * x.get(t * cols + c);
                }
                store(y, t * rows + r, sum, accumulate);
            }
        }
    }

    /**
     * GGUF Q8_0 weights as their raw blocks: 34 bytes per 32 weights, an f16 scale {@code d} (little-endian) then
     * 32 int8 {@code q}; weight = d * q. Each block's integer-weighted sum is scaled once.
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
                    float d = Bits16.f16((w.get(at) & 0xFF) | ((w.get(at + 1) & 0xFF) << 8), f16Scale);
                    float block = 0f;
                    for (int j = 0; j < 32; j++) {
                        block += w.get(at + 2 + j) * x.get(t * cols + b * 32 + j);
                    }
                    sum += d * block;
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
