package dev.minitron.gpu.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Nemotron's LayerNorm1P over each token row: {@code (x - mean) / sqrt(var + eps) * gamma + beta}, with the
 * biased variance (divide by n) and {@code gamma} already holding the "+1" (see {@code Weights}). Statistics are
 * two-pass in float32 (mean first, then the mean squared deviation), which stays within a few ulps of the CPU
 * path's double accumulation for rows of a few thousand.
 */
public final class Norm {
    private Norm() {}

    /**
     * One work-item per token row. Inside a layer it normalizes all {@link Batch#COUNT} rows of x into
     * {@code out}; as the final norm ({@code lastRowsOnly} = 1) it normalizes only the last {@link Batch#OUT_COUNT}
     * rows, written from row 0 of {@code out} (the rows the lm_head needs).
     */
    public static void layerNorm1p(FloatArray x, FloatArray out, FloatArray gamma, FloatArray beta, IntArray batch,
                                   int hidden, float eps, int maxTokens, int lastRowsOnly) {
        int count = batch.get(Batch.COUNT);
        int rowsOut = lastRowsOnly != 0 ? batch.get(Batch.OUT_COUNT) : count;
        int first = count - rowsOut;
        for (@Parallel int r = 0; r < maxTokens; r++) {
            if (r < rowsOut) {
                int in = (first + r) * hidden;
                float sum = 0f;
                for (int i = 0; i < hidden; i++) {
                    sum += x.get(in + i);
                }
                float mean = sum / hidden;
                float squares = 0f;
                for (int i = 0; i < hidden; i++) {
                    float d = x.get(in + i) - mean;
                    squares += d * d;
                }
                float inv = 1f / TornadoMath.sqrt(squares / hidden + eps);
                int o = r * hidden;
                for (int i = 0; i < hidden; i++) {
                    out.set(o + i, (x.get(in + i) - mean) * inv * gamma.get(i) + beta.get(i));
                }
            }
        }
    }
}
