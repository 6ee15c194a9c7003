package dev.minitron.gpu;

import dev.minitron.gpu.kernels.Batch;
import dev.minitron.gpu.kernels.Bits16;
import dev.minitron.gpu.kernels.MatVec;
import dev.minitron.gpu.kernels.Norm;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * KernelContext variants of the two reductions the brief names (matVec rows, the norm's statistics): one
 * work-group per row, its work-items striding over the row and summing through local memory. They are the usual
 * GPU shape (coalesced reads, many work-items per row), but on the only device measured here, PoCL on 2 CPU
 * cores, they lose to the plain loops, so the graphs do not use them. {@code KernelBench} measures both
 * (median kernel time, TornadoVM profiler; shared machine, +-10%):
 *
 * <pre>
 *   matVecBF16 1024 x 256     loop 159 us     group of 16: 342 us,  of 64: 498 us
 *   matVecBF16 2048 x 256     loop 319 us     group of 16: 718 us,  of 64: 1840 us
 *   matVecBF16 4096 x 4096    loop 10.5 ms    group of 16: 20.6 ms, of 64: 25.2 ms
 *   layerNorm1p 256           loop 1.2 us     group of 16 / 64 / 256: 3.7 / 2.8 / 7.1 us
 *   layerNorm1p 4096          loop 8.9 us     group of 16 / 64 / 256: 26.0 / 16.7 / 21.6 us
 * </pre>
 *
 * Kept, with their correctness check in {@code KernelBench}, for measuring on a GPU before wiring them in.
 */
final class GroupKernelCandidates {
    private GroupKernelCandidates() {}

    /** As {@link MatVec#matVecBF16}, one work-group of {@code groupSize} (a power of two) per output row. */
    public static void matVecBF16Group(KernelContext kc, ShortArray w, FloatArray bf16Scale, FloatArray x, FloatArray y,
                                       IntArray batch, int rows, int cols, int countSlot, int accumulate, int groupSize) {
        float[] partial = kc.allocateFloatLocalArray(groupSize);
        int r = kc.groupIdx;
        int lid = kc.localIdx;
        int tokens = batch.get(countSlot);
        for (int t = 0; t < tokens; t++) {
            float sum = 0f;
            for (int c = lid; c < cols; c += groupSize) {
                sum += Bits16.bf16(w.get(r * cols + c), bf16Scale) * x.get(t * cols + c);
            }
            partial[lid] = sum;
            for (int stride = groupSize / 2; stride > 0; stride /= 2) {
                kc.localBarrier();
                if (lid < stride) partial[lid] += partial[lid + stride];
            }
            if (lid == 0) {
                int i = t * rows + r;
                y.set(i, accumulate != 0 ? y.get(i) + partial[0] : partial[0]);
            }
            kc.localBarrier();
        }
    }

    /** As {@link Norm#layerNorm1p}, one work-group of {@code groupSize} (a power of two) per token row. */
    public static void layerNorm1pGroup(KernelContext kc, FloatArray x, FloatArray out, FloatArray gamma, FloatArray beta,
                                        IntArray batch, int hidden, float eps, int lastRowsOnly, int groupSize) {
        float[] partial = kc.allocateFloatLocalArray(groupSize);
        int r = kc.groupIdx;
        int lid = kc.localIdx;
        int count = batch.get(Batch.COUNT);
        int rowsOut = lastRowsOnly != 0 ? batch.get(Batch.OUT_COUNT) : count;
        if (r < rowsOut) { // the same for the whole group, so its barriers are reached by all or none
            int in = (count - rowsOut + r) * hidden;
            float sum = 0f;
            for (int i = lid; i < hidden; i += groupSize) sum += x.get(in + i);
            partial[lid] = sum;
            for (int stride = groupSize / 2; stride > 0; stride /= 2) {
                kc.localBarrier();
                if (lid < stride) partial[lid] += partial[lid + stride];
            }
            kc.localBarrier();
            float mean = partial[0] / hidden;
            kc.localBarrier();
            float squares = 0f;
            for (int i = lid; i < hidden; i += groupSize) {
                float d = x.get(in + i) - mean;
                squares += d * d;
            }
            partial[lid] = squares;
            for (int stride = groupSize / 2; stride > 0; stride /= 2) {
                kc.localBarrier();
                if (lid < stride) partial[lid] += partial[lid + stride];
            }
            kc.localBarrier();
            float inv = 1f / TornadoMath.sqrt(partial[0] / hidden + eps);
            for (int i = lid; i < hidden; i += groupSize) {
                out.set(r * hidden + i, (x.get(in + i) - mean) * inv * gamma.get(i) + beta.get(i));
            }
        }
    }
}
