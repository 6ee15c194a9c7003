package dev.minitron.gpu.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The attention block between the q/k/v projections and o_proj: partial rotary embedding, the KV-cache write and
 * causal grouped-query attention. Token {@code t} of a batch sits at position {@code pos + t}.
 * Layouts: q {@code [tokens, qHeads * headDim]}, k and v {@code [tokens, kvDim]}, caches {@code [context, kvDim]}.
 */
public final class Attention {
    private Attention() {}

    /**
     * Partial NeoX rotary on q and k, in place: in every head only the first {@code rotaryDim} dims rotate, in
     * pairs {@code (j, j + rotaryDim/2)} sharing the angle {@code pos * theta^(-2j/rotaryDim)}; the other dims
     * pass through. {@code cos}/{@code sin} are {@code [context, rotaryDim/2]} tables computed on the host.
     * One work-item per (head, pair), q heads first, then k heads.
     */
    public static void rope(FloatArray q, FloatArray k, FloatArray cos, FloatArray sin, IntArray batch,
                            int qHeads, int kvHeads, int headDim, int rotaryDim) {
        int pos = batch.get(Batch.POS);
        int tokens = batch.get(Batch.COUNT);
        int pairs = rotaryDim / 2;
        for (@Parallel int i = 0; i < (qHeads + kvHeads) * pairs; i++) {
            int head = i / pairs;
            int j = i % pairs;
            for (int t = 0; t < tokens; t++) {
                float c = cos.get((pos + t) * pairs + j);
                float s = sin.get((pos + t) * pairs + j);
                if (head < qHeads) {
                    int at = (t * qHeads + head) * headDim + j;
                    float a = q.get(at);
                    float b = q.get(at + pairs);
                    q.set(at, a * c - b * s);
                    q.set(at + pairs, b * c + a * s);
                } else {
                    int at = (t * kvHeads + head - qHeads) * headDim + j;
                    float a = k.get(at);
                    float b = k.get(at + pairs);
                    k.set(at, a * c - b * s);
                    k.set(at + pairs, b * c + a * s);
                }
            }
        }
    }

    /** Appends this batch's (rotated) keys and values to the layer's cache at positions {@code pos ..}. */
    public static void writeKvCache(FloatArray k, FloatArray v, FloatArray keyCache, FloatArray valueCache,
                                    IntArray batch, int kvDim) {
        int pos = batch.get(Batch.POS);
        int tokens = batch.get(Batch.COUNT);
        for (@Parallel int i = 0; i < kvDim; i++) {
            for (int t = 0; t < tokens; t++) {
                keyCache.set((pos + t) * kvDim + i, k.get(t * kvDim + i));
                valueCache.set((pos + t) * kvDim + i, v.get(t * kvDim + i));
            }
        }
    }

    /**
     * Causal grouped-query attention, one work-item per (token, query head): query head {@code h} reads KV head
     * {@code h / groupSize}; scores {@code q.k * scale} (scale = 1/sqrt(headDim)) over positions
     * {@code 0 .. pos+t}, softmax (max-subtracted), then the probability-weighted sum of the values into
     * {@code out} {@code [tokens, qHeads * headDim]}. {@code scores} is scratch of {@code [maxTokens * qHeads,
     * context]}.
     */
    public static void attention(FloatArray q, FloatArray keyCache, FloatArray valueCache, FloatArray scores,
                                 FloatArray out, IntArray batch, int qHeads, int groupSize, int headDim,
                                 int kvDim, int context, int maxTokens, float scale) {
        int pos = batch.get(Batch.POS);
        int tokens = batch.get(Batch.COUNT);
        for (@Parallel int th = 0; th < maxTokens * qHeads; th++) {
            int t = th / qHeads;
            if (t < tokens) {
                int h = th % qHeads;
                int qo = th * headDim;               // (t * qHeads + h) * headDim
                int kvo = (h / groupSize) * headDim; // this head's KV slice within a cache row
                int so = th * context;
                int n = pos + t + 1;                 // causal: positions 0 .. pos + t
                float max = 0f;
                for (int p = 0; p < n; p++) {
                    float dot = 0f;
                    for (int i = 0; i < headDim; i++) {
                        dot += q.get(qo + i) * keyCache.get(p * kvDim + kvo + i);
                    }
                    float score = dot * scale;
                    scores.set(so + p, score);
                    max = p == 0 ? score : TornadoMath.max(max, score);
                }
                float sum = 0f;
                for (int p = 0; p < n; p++) {
                    float e = TornadoMath.exp(scores.get(so + p) - max);
                    scores.set(so + p, e);
                    sum += e;
                }
                float inv = 1f / sum;
                for (int i = 0; i < headDim; i++) {
                    out.set(qo + i, 0f);
                }
                for (int p = 0; p < n; p++) {
                    float a = scores.get(so + p) * inv;
                    for (int i = 0; i < headDim; i++) {
                        out.set(qo + i, out.get(qo + i) + a * valueCache.get(p * kvDim + kvo + i));
                    }
                }
            }
        }
    }
}
