package dev.minitron.gpu.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The id of the largest logit of the last row, so that greedy decoding can bring back 4 bytes instead of the
 * whole vocabulary. Two steps: each of {@code chunks} work-items finds the best of its slice, then one work-item
 * picks the best slice. Ties go to the lower id (strict {@code >} in id order), like the CPU sampler.
 */
public final class Argmax {
    private Argmax() {}

    public static void argmaxPartial(FloatArray logits, IntArray batch, FloatArray bestValue, IntArray bestIndex,
                                     int vocab, int chunks) {
        int row = (batch.get(Batch.OUT_COUNT) - 1) * vocab;
        int span = (vocab + chunks - 1) / chunks;
        for (@Parallel int c = 0; c < chunks; c++) {
            int from = c * span;
            int to = from + span < vocab ? from + span : vocab;
            int best = from < vocab ? from : vocab - 1;
            float value = logits.get(row + best);
            for (int i = from + 1; i < to; i++) {
                float l = logits.get(row + i);
                if (l > value) {
                    value = l;
                    best = i;
                }
            }
            bestValue.set(c, value);
            bestIndex.set(c, best);
        }
    }

    /** Single work-item: the best of the chunk winners, into {@code result[0]}. */
    public static void argmaxFinal(FloatArray bestValue, IntArray bestIndex, IntArray result, int chunks) {
        int best = bestIndex.get(0);
        float value = bestValue.get(0);
        for (int c = 1; c < chunks; c++) {
            if (bestValue.get(c) > value) {
                value = bestValue.get(c);
                best = bestIndex.get(c);
            }
        }
        result.set(0, best);
    }
}
