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
 * inside a layer, {@link Batch#OUT_COUNT} for the lm_head). {@code mode} says how the result is written
 * ({@link #store}).
 */
public final class MatVec {
    private MatVec() {}

    public static void matVecF32(FloatArray w, FloatArray x, FloatArray y, IntArray batch,
                                 int rows, int cols, int countSlot, int mode) {
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
                store(y, t * rows + r, (s0 + s1) + (s2 + s3), mode);
            }
        }
    }

    /** bfloat16 weights as raw 16-bit words, decoded exactly by {@link Bits16#bf16}. */
    public static void matVecBF16(ShortArray w, FloatArray bf16Scale, FloatArray x, FloatArray y, IntArray batch,
                                  int rows, int cols, int countSlot, int mode) {
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
                store(y, t * rows + r, (s0 + s1) + (s2 + s3), mode);
            }
        }
    }

    /** IEEE half weights as raw 16-bit words, decoded exactly by {@link Bits16#f16}. */
    public static void matVecF16(ShortArray w, FloatArray f16Scale, FloatArray x, FloatArray y, IntArray batch,
                                 int rows, int cols, int countSlot, int mode) {
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
                store(y, t * rows + r, (s0 + s1) + (s2 + s3), mode);
            }
        }
    }

    /**
     * GGUF Q8_0 weights as their raw blocks: 34 bytes per 32 weights, an f16 scale {@code d} (little-endian) then
     * 32 int8 {@code q}; weight = d * q. Each block's integer-weighted sum (four partial sums) is scaled once.
     */
    public static void matVecQ8_0(ByteArray w, FloatArray f16Scale, FloatArray x, FloatArray y, IntArray batch,
                                  int rows, int cols, int countSlot, int mode) {
        int tokens = batch.get(countSlot);
        int blocks = cols / 32;
        for (@Parallel int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    int at = (r * blocks + b) * 34;
                    int in = t * cols + b * 32;
                    float d = half(w, at, f16Scale);
                    float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                    for (int j = 0; j < 32; j += 4) {
                        s0 += w.get(at + 2 + j) * x.get(in + j);
                        s1 += w.get(at + 3 + j) * x.get(in + j + 1);
                        s2 += w.get(at + 4 + j) * x.get(in + j + 2);
                        s3 += w.get(at + 5 + j) * x.get(in + j + 3);
                    }
                    sum += d * ((s0 + s1) + (s2 + s3));
                }
                store(y, t * rows + r, sum, mode);
            }
        }
    }

    /**
     * GGUF Q4_K weights as their raw super-blocks: 144 bytes per 256 weights, {@code {half d; half dmin;
     * uint8 scales[12]; uint8 qs[128]}}. Sub-block {@code j} (32 weights) has a 6-bit scale {@code sc} and min
     * {@code m} packed in {@code scales} ({@link #scaleMinK4}); its weights are the low ({@code j} even) or high
     * ({@code j} odd) nibbles of {@code qs[32 (j/2) .. +31]}; weight = d*sc*q - dmin*m, so a sub-block adds
     * {@code d*sc * sum(q x) - dmin*m * sum(x)}.
     */
    public static void matVecQ4_K(ByteArray w, FloatArray f16Scale, FloatArray x, FloatArray y, IntArray batch,
                                  int rows, int cols, int countSlot, int mode) {
        int tokens = batch.get(countSlot);
        int blocks = cols / 256;
        for (@Parallel int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    int at = (r * blocks + b) * 144;
                    int in = t * cols + b * 256;
                    float d = half(w, at, f16Scale);
                    float dmin = half(w, at + 2, f16Scale);
                    for (int j = 0; j < 8; j++) {
                        int sm = scaleMinK4(w, at + 4, j);
                        int qs = at + 16 + 32 * (j / 2), shift = 4 * (j % 2);
                        float qx = 0f, xs = 0f;
                        for (int l = 0; l < 32; l++) {
                            float xv = x.get(in + 32 * j + l);
                            qx += ((u8(w, qs + l) >> shift) & 0xF) * xv;
                            xs += xv;
                        }
                        sum += d * (sm & 0xFF) * qx - dmin * (sm >> 8) * xs;
                    }
                }
                store(y, t * rows + r, sum, mode);
            }
        }
    }

    /**
     * GGUF Q6_K weights as their raw super-blocks: 210 bytes per 256 weights, {@code {uint8 ql[128]; uint8 qh[64];
     * int8 scales[16]; half d}}. Half {@code h} (128 weights) uses {@code ql[64h ..]}, {@code qh[32h ..]},
     * {@code scales[8h ..]}: weight {@code l + 32k} (l &lt; 32, k &lt; 4) has its low four bits in the low
     * (k &lt; 2) or high nibble of {@code ql[l]} (k even) or {@code ql[l + 32]} (k odd), its top two bits in bits
     * {@code 2k, 2k+1} of {@code qh[l]}, and scale {@code scales[l/16 + 2k]}; weight = d * scale * (q - 32).
     * The 32 is subtracted in float: TornadoVM 5.2 types {@code (b & 0xFF) - 32} as an unsigned OpenCL int, so
     * a negative difference would convert to a huge float.
     */
    public static void matVecQ6_K(ByteArray w, FloatArray f16Scale, FloatArray x, FloatArray y, IntArray batch,
                                  int rows, int cols, int countSlot, int mode) {
        int tokens = batch.get(countSlot);
        int blocks = cols / 256;
        for (@Parallel int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    int at = (r * blocks + b) * 210;
                    float d = half(w, at + 208, f16Scale);
                    for (int g = 0; g < 16; g++) {          // 16 groups of 16 weights, one scale each
                        int h = g / 8, k = (g % 8) / 2, l0 = 16 * (g % 2);
                        int ql = at + 64 * h + 32 * (k % 2), qh = at + 128 + 32 * h, shift = 4 * (k / 2);
                        int in = t * cols + b * 256 + 128 * h + 32 * k;
                        float part = 0f;
                        for (int l = l0; l < l0 + 16; l++) {
                            int q = ((u8(w, ql + l) >> shift) & 0xF) | (((u8(w, qh + l) >> (2 * k)) & 3) << 4);
                            part += ((float) q - 32f) * x.get(in + l);
                        }
                        sum += d * w.get(at + 192 + 8 * h + l0 / 16 + 2 * k) * part;
                    }
                }
                store(y, t * rows + r, sum, mode);
            }
        }
    }

    /** The little-endian IEEE half at byte {@code at} of {@code a} (a block's scale), decoded by {@link Bits16#f16}. */
    static float half(ByteArray a, int at, FloatArray f16Scale) {
        return Bits16.f16(u8(a, at) | (u8(a, at + 1) << 8), f16Scale);
    }

    /** Byte {@code i} of {@code a} as an unsigned value. */
    static int u8(ByteArray a, int i) {
        return a.get(i) & 0xFF;
    }

    /**
     * Scale (low byte) and min (next byte) of sub-block {@code j} of a Q4_K super-block whose 12 scale bytes start
     * at {@code q}: for {@code j < 4} the low six bits of {@code q[j]} and {@code q[j + 4]}; otherwise the low
     * (scale) or high (min) nibble of {@code q[j + 4]} plus, as bits 4-5, the top two bits of {@code q[j - 4]}
     * (scale) or {@code q[j]} (min).
     */
    static int scaleMinK4(ByteArray w, int q, int j) {
        int sc, m;
        if (j < 4) {
            sc = u8(w, q + j) & 63;
            m = u8(w, q + j + 4) & 63;
        } else {
            sc = (u8(w, q + j + 4) & 0xF) | ((u8(w, q + j - 4) >> 6) << 4);
            m = (u8(w, q + j + 4) >> 4) | ((u8(w, q + j) >> 6) << 4);
        }
        return sc | (m << 8);
    }

    /** How a kernel writes {@code W x} into y: see {@link #store}. */
    public static final int OVERWRITE = 0, ACCUMULATE = 1, SQUARED_RELU = 2;

    /**
     * {@code y[i] = value} ({@link #OVERWRITE}), {@code y[i] += value} ({@link #ACCUMULATE}: the residual adds of
     * o_proj and down_proj), or {@code y[i] = relu(value)^2} ({@link #SQUARED_RELU}: the up projection with
     * Nemotron's activation, which saves a kernel launch and a pass over the FFN activations).
     */
    static void store(FloatArray y, int i, float value, int mode) {
        if (mode == ACCUMULATE) {
            y.set(i, y.get(i) + value);
        } else if (mode == SQUARED_RELU) {
            y.set(i, Ffn.squaredRelu(value));
        } else {
            y.set(i, value);
        }
    }
}
