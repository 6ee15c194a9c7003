package dev.minitron.gpu.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * {@code x[t] = embed[token t]}: copies (and decodes) one row of the embedding table per token of the batch into
 * the residual stream x {@code [tokens, hidden]}. One work-item per element of the row; no scaling (Nemotron has
 * none). One kernel per dtype, like {@link MatVec}.
 */
public final class Embedding {
    private Embedding() {}

    public static void embedF32(FloatArray table, IntArray batch, FloatArray x, int hidden) {
        int tokens = batch.get(Batch.COUNT);
        for (@Parallel int i = 0; i < hidden; i++) {
            for (int t = 0; t < tokens; t++) {
                x.set(t * hidden + i, table.get(batch.get(Batch.TOKENS + t) * hidden + i));
            }
        }
    }

    public static void embedBF16(ShortArray table, FloatArray bf16Scale, IntArray batch, FloatArray x, int hidden) {
        int tokens = batch.get(Batch.COUNT);
        for (@Parallel int i = 0; i < hidden; i++) {
            for (int t = 0; t < tokens; t++) {
                x.set(t * hidden + i, Bits16.bf16(table.get(batch.get(Batch.TOKENS + t) * hidden + i), bf16Scale));
            }
        }
    }

    public static void embedF16(ShortArray table, FloatArray f16Scale, IntArray batch, FloatArray x, int hidden) {
        int tokens = batch.get(Batch.COUNT);
        for (@Parallel int i = 0; i < hidden; i++) {
            for (int t = 0; t < tokens; t++) {
                x.set(t * hidden + i, Bits16.f16(table.get(batch.get(Batch.TOKENS + t) * hidden + i), f16Scale));
            }
        }
    }

    /** Q8_0 rows: 34-byte blocks of an f16 scale and 32 int8 (see {@link MatVec#matVecQ8_0}). */
    public static void embedQ8_0(ByteArray table, FloatArray f16Scale, IntArray batch, FloatArray x, int hidden) {
        int tokens = batch.get(Batch.COUNT);
        int blocks = hidden / 32;
        for (@Parallel int i = 0; i < hidden; i++) {
            for (int t = 0; t < tokens; t++) {
                int at = (batch.get(Batch.TOKENS + t) * blocks + i / 32) * 34;
                float d = MatVec.half(table, at, f16Scale);
                x.set(t * hidden + i, d * table.get(at + 2 + i % 32));
            }
        }
    }

    /**
     * Q4_K rows (see {@link MatVec#matVecQ4_K}), decoded in the CPU path's order: {@code d1 * q - m1} with
     * {@code d1 = d * sc} and {@code m1 = dmin * m} rounded to float first.
     */
    public static void embedQ4_K(ByteArray table, FloatArray f16Scale, IntArray batch, FloatArray x, int hidden) {
        int tokens = batch.get(Batch.COUNT);
        int blocks = hidden / 256;
        for (@Parallel int i = 0; i < hidden; i++) {
            for (int t = 0; t < tokens; t++) {
                int at = (batch.get(Batch.TOKENS + t) * blocks + i / 256) * 144;
                int j = (i % 256) / 32, l = i % 32;
                float d = MatVec.half(table, at, f16Scale);
                float dmin = MatVec.half(table, at + 2, f16Scale);
                int sm = MatVec.scaleMinK4(table, at + 4, j);
                float d1 = d * (sm & 0xFF), m1 = dmin * (sm >> 8);
                int q = (MatVec.u8(table, at + 16 + 32 * (j / 2) + l) >> (4 * (j % 2))) & 0xF;
                x.set(t * hidden + i, d1 * q - m1);
            }
        }
    }

    /**
     * Q6_K rows (see {@link MatVec#matVecQ6_K}, also for why 32 is subtracted in float): {@code (d * scale) *
     * (q - 32)}, as the CPU path rounds it.
     */
    public static void embedQ6_K(ByteArray table, FloatArray f16Scale, IntArray batch, FloatArray x, int hidden) {
        int tokens = batch.get(Batch.COUNT);
        int blocks = hidden / 256;
        for (@Parallel int i = 0; i < hidden; i++) {
            for (int t = 0; t < tokens; t++) {
                int at = (batch.get(Batch.TOKENS + t) * blocks + i / 256) * 210;
                int h = (i % 256) / 128, k = (i % 128) / 32, l = i % 32;
                float d = MatVec.half(table, at + 208, f16Scale);
                int ql = MatVec.u8(table, at + 64 * h + 32 * (k % 2) + l) >> (4 * (k / 2));
                int q = (ql & 0xF) | (((MatVec.u8(table, at + 128 + 32 * h + l) >> (2 * k)) & 3) << 4);
                x.set(t * hidden + i, d * table.get(at + 192 + 8 * h + l / 16 + 2 * k) * ((float) q - 32f));
            }
        }
    }
}
