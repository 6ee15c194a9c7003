package dev.minitron.gpu.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * The work-group ({@link KernelContext}) forms of the kernels that reduce: one work-group of {@value #GROUP}
 * work-items per output row (matVec), per token row (LayerNorm1P) or per (token, query head) (attention),
 * instead of one work-item. Its work-items stride over the row, so neighbouring work-items read neighbouring
 * weights (one coalesced memory transaction per warp), and add their partial sums in local memory, halving the
 * active work-items at each step (log2 {@value #GROUP} = 7 steps, a barrier before each). The matVec loops are
 * unrolled by four with four sums: a work-item then has four loads in flight instead of one, and a GPU hides its
 * memory latency only with enough bytes in flight (an H200 measured 0.6-1.2 TB/s of its 4.8 with one 2-byte load
 * at a time).
 *
 * <p>Why both forms exist: a GPU runs tens of thousands of work-items at once, and the one-per-row loops give a
 * 4096-row projection only 4096 (32 of an H100's 132 multiprocessors busy, each work-item reading its own row,
 * so a warp touches 32 cache lines per load), a norm or the decode attention only a few dozen. PoCL on a CPU is
 * the opposite: its work-groups are loops on a core, where the loops win (see {@code KernelBench}). The graphs
 * use these on GPUs and the loops on CPU devices ({@code TornadoForward#groupKernels}); bench/README.md has what
 * was measured (both forms on PoCL; this form on an H200, where the loops' run crashed before it could be timed).
 *
 * <p>Every work-item reaches every barrier: a work-group with nothing to do (a token slot past the batch) runs
 * its loops zero times instead of skipping a block that holds barriers, which PoCL 3.1 got wrong.
 *
 * <p>The reductions are written out in each kernel: TornadoVM allocates a local array in the kernel that declares
 * it, and a helper method taking one is a code path these kernels were never checked with on PTX.
 */
public final class Groups {
    private Groups() {}

    /** Work-items per work-group (a power of two, four warps). */
    public static final int GROUP = 128;

    /** As {@link MatVec#matVecF32}. Grid: {@code rows * GROUP} work-items, local size {@code GROUP}. */
    public static void matVecF32(KernelContext kc, FloatArray w, FloatArray x, FloatArray y, IntArray batch,
                                 int rows, int cols, int countSlot, int mode) {
        float[] partial = kc.allocateFloatLocalArray(GROUP);
        int r = kc.groupIdx, lid = kc.localIdx;
        int tokens = batch.get(countSlot);
        for (int t = 0; t < tokens; t++) {
            int row = r * cols, in = t * cols;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            int c = lid;
            for (; c + 3 * GROUP < cols; c += 4 * GROUP) { // four independent loads in flight per work-item
                s0 += w.get(row + c) * x.get(in + c);
                s1 += w.get(row + c + GROUP) * x.get(in + c + GROUP);
                s2 += w.get(row + c + 2 * GROUP) * x.get(in + c + 2 * GROUP);
                s3 += w.get(row + c + 3 * GROUP) * x.get(in + c + 3 * GROUP);
            }
            for (; c < cols; c += GROUP) {
                s0 += w.get(row + c) * x.get(in + c);
            }
            partial[lid] = (s0 + s1) + (s2 + s3);
            for (int stride = GROUP / 2; stride > 0; stride /= 2) {
                kc.localBarrier();
                if (lid < stride) partial[lid] += partial[lid + stride];
            }
            if (lid == 0) MatVec.store(y, t * rows + r, partial[0], mode);
            kc.localBarrier(); // partial[0] is read before the next token overwrites it
        }
    }

    /** As {@link MatVec#matVecBF16}. */
    public static void matVecBF16(KernelContext kc, ShortArray w, FloatArray bf16Scale, FloatArray x, FloatArray y,
                                  IntArray batch, int rows, int cols, int countSlot, int mode) {
        float[] partial = kc.allocateFloatLocalArray(GROUP);
        int r = kc.groupIdx, lid = kc.localIdx;
        int tokens = batch.get(countSlot);
        for (int t = 0; t < tokens; t++) {
            int row = r * cols, in = t * cols;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            int c = lid;
            for (; c + 3 * GROUP < cols; c += 4 * GROUP) {
                s0 += Bits16.bf16(w.get(row + c), bf16Scale) * x.get(in + c);
                s1 += Bits16.bf16(w.get(row + c + GROUP), bf16Scale) * x.get(in + c + GROUP);
                s2 += Bits16.bf16(w.get(row + c + 2 * GROUP), bf16Scale) * x.get(in + c + 2 * GROUP);
                s3 += Bits16.bf16(w.get(row + c + 3 * GROUP), bf16Scale) * x.get(in + c + 3 * GROUP);
            }
            for (; c < cols; c += GROUP) {
                s0 += Bits16.bf16(w.get(row + c), bf16Scale) * x.get(in + c);
            }
            partial[lid] = (s0 + s1) + (s2 + s3);
            for (int stride = GROUP / 2; stride > 0; stride /= 2) {
                kc.localBarrier();
                if (lid < stride) partial[lid] += partial[lid + stride];
            }
            if (lid == 0) MatVec.store(y, t * rows + r, partial[0], mode);
            kc.localBarrier();
        }
    }

    /** As {@link MatVec#matVecF16}. */
    public static void matVecF16(KernelContext kc, ShortArray w, FloatArray f16Scale, FloatArray x, FloatArray y,
                                 IntArray batch, int rows, int cols, int countSlot, int mode) {
        float[] partial = kc.allocateFloatLocalArray(GROUP);
        int r = kc.groupIdx, lid = kc.localIdx;
        int tokens = batch.get(countSlot);
        for (int t = 0; t < tokens; t++) {
            int row = r * cols, in = t * cols;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            int c = lid;
            for (; c + 3 * GROUP < cols; c += 4 * GROUP) {
                s0 += Bits16.f16(w.get(row + c), f16Scale) * x.get(in + c);
                s1 += Bits16.f16(w.get(row + c + GROUP), f16Scale) * x.get(in + c + GROUP);
                s2 += Bits16.f16(w.get(row + c + 2 * GROUP), f16Scale) * x.get(in + c + 2 * GROUP);
                s3 += Bits16.f16(w.get(row + c + 3 * GROUP), f16Scale) * x.get(in + c + 3 * GROUP);
            }
            for (; c < cols; c += GROUP) {
                s0 += Bits16.f16(w.get(row + c), f16Scale) * x.get(in + c);
            }
            partial[lid] = (s0 + s1) + (s2 + s3);
            for (int stride = GROUP / 2; stride > 0; stride /= 2) {
                kc.localBarrier();
                if (lid < stride) partial[lid] += partial[lid + stride];
            }
            if (lid == 0) MatVec.store(y, t * rows + r, partial[0], mode);
            kc.localBarrier();
        }
    }

    /**
     * As {@link MatVec#matVecQ8_0}: work-item {@code c} of a row reads weight byte {@code c % 32} of block
     * {@code c / 32} (a warp reads one block's 32 quants) and that block's scale, which the warp shares.
     */
    public static void matVecQ8_0(KernelContext kc, ByteArray w, FloatArray f16Scale, FloatArray x, FloatArray y,
                                  IntArray batch, int rows, int cols, int countSlot, int mode) {
        float[] partial = kc.allocateFloatLocalArray(GROUP);
        int r = kc.groupIdx, lid = kc.localIdx;
        int tokens = batch.get(countSlot);
        int blocks = cols / 32;
        for (int t = 0; t < tokens; t++) {
            int row = r * blocks, in = t * cols;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            int c = lid;
            for (; c + 3 * GROUP < cols; c += 4 * GROUP) { // GROUP is a multiple of 32: the same byte of 4 blocks
                int at = (row + c / 32) * 34, q = 2 + c % 32, step = GROUP / 32 * 34;
                s0 += w.get(at + q) * x.get(in + c) * MatVec.half(w, at, f16Scale);
                s1 += w.get(at + step + q) * x.get(in + c + GROUP) * MatVec.half(w, at + step, f16Scale);
                s2 += w.get(at + 2 * step + q) * x.get(in + c + 2 * GROUP) * MatVec.half(w, at + 2 * step, f16Scale);
                s3 += w.get(at + 3 * step + q) * x.get(in + c + 3 * GROUP) * MatVec.half(w, at + 3 * step, f16Scale);
            }
            for (; c < cols; c += GROUP) {
                int at = (row + c / 32) * 34;
                s0 += w.get(at + 2 + c % 32) * x.get(in + c) * MatVec.half(w, at, f16Scale);
            }
            partial[lid] = (s0 + s1) + (s2 + s3);
            for (int stride = GROUP / 2; stride > 0; stride /= 2) {
                kc.localBarrier();
                if (lid < stride) partial[lid] += partial[lid + stride];
            }
            if (lid == 0) MatVec.store(y, t * rows + r, partial[0], mode);
            kc.localBarrier();
        }
    }

    /**
     * As {@link MatVec#matVecQ4_K} ({@code blockBytes} = 144) and {@link MatVec#matVecQ6_K} (210): work-item
     * {@code c} of a row decodes weight {@code c} on its own ({@link #q4k}, {@link #q6k}); the 32 work-items of a
     * warp share a sub-block, so its scales are one broadcast load. (TornadoVM compiles a kernel for the
     * {@code blockBytes} it is given, so the choice costs nothing per weight.)
     */
    public static void matVecKQuant(KernelContext kc, ByteArray w, FloatArray f16Scale, FloatArray x, FloatArray y,
                                    IntArray batch, int rows, int cols, int countSlot, int mode, int blockBytes) {
        float[] partial = kc.allocateFloatLocalArray(GROUP);
        int r = kc.groupIdx, lid = kc.localIdx;
        int tokens = batch.get(countSlot);
        int row = r * (cols / 256) * blockBytes;
        boolean q4 = blockBytes == 144;
        for (int t = 0; t < tokens; t++) {
            int in = t * cols;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            int c = lid;
            for (; c + 3 * GROUP < cols; c += 4 * GROUP) {
                s0 += (q4 ? q4k(w, row, c, f16Scale) : q6k(w, row, c, f16Scale)) * x.get(in + c);
                s1 += (q4 ? q4k(w, row, c + GROUP, f16Scale) : q6k(w, row, c + GROUP, f16Scale)) * x.get(in + c + GROUP);
                s2 += (q4 ? q4k(w, row, c + 2 * GROUP, f16Scale) : q6k(w, row, c + 2 * GROUP, f16Scale)) * x.get(in + c + 2 * GROUP);
                s3 += (q4 ? q4k(w, row, c + 3 * GROUP, f16Scale) : q6k(w, row, c + 3 * GROUP, f16Scale)) * x.get(in + c + 3 * GROUP);
            }
            for (; c < cols; c += GROUP) {
                s0 += (q4 ? q4k(w, row, c, f16Scale) : q6k(w, row, c, f16Scale)) * x.get(in + c);
            }
            partial[lid] = (s0 + s1) + (s2 + s3);
            for (int stride = GROUP / 2; stride > 0; stride /= 2) {
                kc.localBarrier();
                if (lid < stride) partial[lid] += partial[lid + stride];
            }
            if (lid == 0) MatVec.store(y, t * rows + r, partial[0], mode);
            kc.localBarrier();
        }
    }

    /**
     * Weight {@code c} of the Q4_K row starting at byte {@code row}: super-block {@code c / 256}, sub-block
     * {@code j = (c % 256) / 32}, nibble {@code j % 2} of {@code qs[32 (j / 2) + c % 32]}: d*sc*q - dmin*m (the
     * layout is on {@link MatVec#matVecQ4_K}).
     */
    static float q4k(ByteArray w, int row, int c, FloatArray f16Scale) {
        int at = row + (c / 256) * 144, j = (c % 256) / 32;
        int sm = MatVec.scaleMinK4(w, at + 4, j);
        int q = (MatVec.u8(w, at + 16 + 32 * (j / 2) + c % 32) >> (4 * (j % 2))) & 0xF;
        return MatVec.half(w, at, f16Scale) * (sm & 0xFF) * q - MatVec.half(w, at + 2, f16Scale) * (sm >> 8);
    }

    /**
     * Weight {@code c} of the Q6_K row starting at byte {@code row}: in super-block {@code c / 256}, half
     * {@code h}, quarter {@code k} and lane {@code l} of {@code c % 256 = 128 h + 32 k + l}: d * scale * (q - 32)
     * (the layout is on {@link MatVec#matVecQ6_K}; the 32 is subtracted in float, as there).
     */
    static float q6k(ByteArray w, int row, int c, FloatArray f16Scale) {
        int at = row + (c / 256) * 210, i = c % 256;
        int h = i / 128, k = (i % 128) / 32, l = i % 32;
        int q = ((MatVec.u8(w, at + 64 * h + 32 * (k % 2) + l) >> (4 * (k / 2))) & 0xF)
                | (((MatVec.u8(w, at + 128 + 32 * h + l) >> (2 * k)) & 3) << 4);
        return MatVec.half(w, at + 208, f16Scale) * w.get(at + 192 + 8 * h + l / 16 + 2 * k) * ((float) q - 32f);
    }

    /**
     * As {@link Norm#layerNorm1p}, one work-group per token row ({@code maxTokens * GROUP} work-items); the
     * statistics are the same two passes, each a strided sum and a tree reduction.
     */
    public static void layerNorm1p(KernelContext kc, FloatArray x, FloatArray out, FloatArray gamma, FloatArray beta,
                                   IntArray batch, int hidden, float eps, int lastRowsOnly) {
        float[] partial = kc.allocateFloatLocalArray(GROUP);
        int r = kc.groupIdx, lid = kc.localIdx;
        int count = batch.get(Batch.COUNT);
        int rowsOut = lastRowsOnly != 0 ? batch.get(Batch.OUT_COUNT) : count;
        int width = r < rowsOut ? hidden : 0; // no row past the batch (every work-item still reaches every barrier)
        int in = (count - rowsOut + r) * hidden;
        float sum = 0f;
        for (int i = lid; i < width; i += GROUP) {
            sum += x.get(in + i);
        }
        partial[lid] = sum;
        for (int stride = GROUP / 2; stride > 0; stride /= 2) {
            kc.localBarrier();
            if (lid < stride) partial[lid] += partial[lid + stride];
        }
        kc.localBarrier();
        float mean = partial[0] / hidden;
        kc.localBarrier();
        float squares = 0f;
        for (int i = lid; i < width; i += GROUP) {
            float d = x.get(in + i) - mean;
            squares += d * d;
        }
        partial[lid] = squares;
        for (int stride = GROUP / 2; stride > 0; stride /= 2) {
            kc.localBarrier();
            if (lid < stride) partial[lid] += partial[lid + stride];
        }
        kc.localBarrier();
        float inv = 1f / TornadoMath.sqrt(partial[0] / hidden + eps);
        for (int i = lid; i < width; i += GROUP) {
            out.set(r * hidden + i, (x.get(in + i) - mean) * inv * gamma.get(i) + beta.get(i));
        }
    }

    /**
     * As {@link Attention#attention}, one work-group per (token, query head) ({@code maxTokens * qHeads * GROUP}
     * work-items): the work-items share the positions for the scores (each a dot product over the head), reduce the
     * maximum and the sum of the softmax, then share the head's dimensions for the weighted sum of the values.
     */
    public static void attention(KernelContext kc, FloatArray q, FloatArray keyCache, FloatArray valueCache, FloatArray scores,
                                 FloatArray out, IntArray batch, int qHeads, int groupSize, int headDim, int kvDim, int context,
                                 float scale) {
        float[] partial = kc.allocateFloatLocalArray(GROUP);
        int th = kc.groupIdx, lid = kc.localIdx;
        int pos = batch.get(Batch.POS);
        int tokens = batch.get(Batch.COUNT);
        int t = th / qHeads, h = th % qHeads;
        int qo = th * headDim;                        // (t * qHeads + h) * headDim
        int kvo = (h / groupSize) * headDim;          // this head's KV slice within a cache row
        int so = th * context;
        int n = t < tokens ? pos + t + 1 : 0;         // causal: positions 0 .. pos + t; none past the batch
        int dims = t < tokens ? headDim : 0;          // (every work-item still reaches every barrier)
        float max = -3.4028235e38f;
        for (int p = lid; p < n; p += GROUP) {
            float dot = 0f;
            for (int i = 0; i < headDim; i++) {
                dot += q.get(qo + i) * keyCache.get(p * kvDim + kvo + i);
            }
            float score = dot * scale;
            scores.set(so + p, score);
            max = TornadoMath.max(max, score);
        }
        partial[lid] = max;
        for (int stride = GROUP / 2; stride > 0; stride /= 2) {
            kc.localBarrier();
            if (lid < stride) partial[lid] = TornadoMath.max(partial[lid], partial[lid + stride]);
        }
        kc.localBarrier();
        max = partial[0];
        kc.localBarrier();
        float sum = 0f;
        for (int p = lid; p < n; p += GROUP) {
            float e = TornadoMath.exp(scores.get(so + p) - max);
            scores.set(so + p, e);
            sum += e;
        }
        partial[lid] = sum;
        for (int stride = GROUP / 2; stride > 0; stride /= 2) {
            kc.localBarrier();
            if (lid < stride) partial[lid] += partial[lid + stride];
        }
        kc.localBarrier();  // partial[0] is the sum
        kc.globalBarrier(); // and every work-item's exponentials in scores are visible to all
        float inv = 1f / partial[0];
        for (int i = lid; i < dims; i += GROUP) {
            float acc = 0f;
            for (int p = 0; p < n; p++) {
                acc += scores.get(so + p) * valueCache.get(p * kvDim + kvo + i);
            }
            out.set(qo + i, acc * inv);
        }
    }
}
