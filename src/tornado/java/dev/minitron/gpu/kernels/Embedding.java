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
                float d = Bits16.f16((table.get(at) & 0xFF) | ((table.get(at + 1) & 0xFF) << 8), f16Scale);
                x.set(t * hidden + i, d * table.get(at + 2 + i % 32));
            }
        }
    }
}
