package dev.minitron.engine;

import dev.minitron.cpu.MatMul;
import dev.minitron.cpu.Parallel;
import dev.minitron.cpu.VecDot;
import dev.minitron.model.Config;
import dev.minitron.model.Weights;
import dev.minitron.model.Weights.Layer;
import dev.minitron.model.Weights.Norm;

import java.util.Arrays;

/**
 * The NemotronForCausalLM forward pass on the CPU, for a batch of {@code T} consecutive positions
 * (prefill: the whole prompt at once through matrix-matrix products; decode: T = 1). It reads top-down like
 * the math in {@code docs/NEMOTRON.md} section 3:
 *
 * <pre>
 *   x = embed[ids]
 *   for each layer:  x += o_proj( attention( rope( q,k,v_proj( LN1p(x) ) ) ) )
 *                    x += down_proj( relu( up_proj( LN1p(x) ) )^2 )
 *   logits = lm_head( LN1p(x) )
 * </pre>
 *
 * Activations are float32; keys and values are cached in float32 for every position seen so far.
 */
public final class Forward implements ForwardPass {
    private final Config c;
    private final Weights w;
    private final Parallel par;
    private final int context;
    /**
     * [layer][(kvHead * context + pos) * headDim + j]: each KV head's positions are contiguous, so attention streams
     * them (position-major rows would put consecutive positions of a head a whole kvDim apart, a new 4 KB page each).
     */
    final float[][] keyCache, valueCache;
    private final float[] cos, sin;                // [pos * rot/2 + j]
    private Buffers buf; // grown on demand, reused between calls

    public Forward(Config c, Weights w, int context, Parallel par) {
        this.c = c;
        this.w = w;
        this.par = par;
        this.context = context;
        this.keyCache = new float[c.numLayers()][context * c.kvDim()];
        this.valueCache = new float[c.numLayers()][context * c.kvDim()];
        int half = c.rotaryDim() / 2;
        this.cos = new float[context * half];
        this.sin = new float[context * half];
        for (int p = 0; p < context; p++) {
            for (int j = 0; j < half; j++) {
                // inv_freq[j] = theta^(-2j/rot); linear rope scaling divides the position
                double angle = (p / (double) c.ropeScale()) * Math.pow(c.ropeTheta(), -2.0 * j / c.rotaryDim());
                cos[p * half + j] = (float) Math.cos(angle);
                sin[p * half + j] = (float) Math.sin(angle);
            }
        }
    }

    @Override
    public int context() { return context; }

    @Override
    public Config config() { return c; }

    /**
     * Runs {@code tokens} at positions {@code pos, pos+1, ...} (the cache must hold positions before {@code pos})
     * and returns the logits: of the last position only ({@code [V]}), or of every position ({@code [T * V]}).
     */
    @Override
    public float[] forward(int[] tokens, int pos, boolean allPositions) {
        int T = tokens.length;
        if (T == 0) throw new IllegalArgumentException("no tokens");
        if (pos + T > context) throw new IllegalArgumentException("positions " + pos + ".." + (pos + T - 1) + " exceed the context of " + context);
        int H = c.hiddenSize();
        Buffers b = buffers(T);
        for (int t = 0; t < T; t++) {
            int id = tokens[t];
            if (id < 0 || id >= c.vocabSize()) throw new IllegalArgumentException("token id " + id + " outside the vocabulary");
            VecDot.readRow(w.embed(), id, b.x, t * H);
        }
        for (int l = 0; l < c.numLayers(); l++) layer(l, w.layers()[l], T, pos, b);

        int from = allPositions ? 0 : T - 1, n = T - from;
        float[] last = Arrays.copyOfRange(b.x, from * H, T * H);
        float[] normed = new float[n * H];
        layerNorm1p(last, normed, n, w.outNorm());
        float[] logits = new float[n * c.vocabSize()];
        MatMul.matMul(w.lmHead(), normed, n, logits, par);
        return logits;
    }

    private void layer(int l, Layer L, int T, int pos, Buffers b) {
        int H = c.hiddenSize(), kv = c.kvDim();
        // attention block: x += o_proj(attn(LN1p(x)))
        layerNorm1p(b.x, b.h, T, L.attnNorm());
        MatMul.matMul(L.q(), b.h, T, b.q, par);
        MatMul.matMul(L.k(), b.h, T, b.k, par);
        MatMul.matMul(L.v(), b.h, T, b.v, par);
        addBias(b.q, L.qBias(), T);
        addBias(b.k, L.kBias(), T);
        addBias(b.v, L.vBias(), T);
        for (int t = 0; t < T; t++) {
            rope(b.q, t * c.qDim(), c.numHeads(), pos + t);
            rope(b.k, t * kv, c.numKvHeads(), pos + t);
        }
        int hd = c.headDim();
        for (int t = 0; t < T; t++) {
            for (int g = 0; g < c.numKvHeads(); g++) {
                int from = t * kv + g * hd, to = (g * context + pos + t) * hd;
                System.arraycopy(b.k, from, keyCache[l], to, hd);
                System.arraycopy(b.v, from, valueCache[l], to, hd);
            }
        }
        attention(l, T, pos, b);
        MatMul.matMul(L.o(), b.att, T, b.h, par);
        addBias(b.h, L.oBias(), T);
        add(b.x, b.h, T * H);

        // MLP block: x += down_proj(relu(up_proj(LN1p(x)))^2)
        layerNorm1p(b.x, b.h, T, L.ffnNorm());
        MatMul.matMul(L.up(), b.h, T, b.up, par);
        addBias(b.up, L.upBias(), T);
        relu2(b.up, T * c.intermediateSize());
        MatMul.matMul(L.down(), b.up, T, b.h, par);
        addBias(b.h, L.downBias(), T);
        add(b.x, b.h, T * H);
    }

    /**
     * LayerNorm1P over each of {@code T} rows: {@code (x - mean) / sqrt(var + eps) * gamma + beta} with the
     * biased variance; {@code gamma} already includes the +1. Statistics are accumulated in double. Rows run in
     * parallel (prefill, 128 rows of 3072, two threads: 855 -> 567 µs in JMH LayerBench).
     */
    void layerNorm1p(float[] x, float[] out, int T, Norm n) {
        int H = c.hiddenSize();
        float[] g = n.gamma(), be = n.beta();
        par.forEach(T, t -> {
            int o = t * H;
            double mean = 0;
            for (int i = 0; i < H; i++) mean += x[o + i];
            mean /= H;
            double var = 0;
            for (int i = 0; i < H; i++) {
                double d = x[o + i] - mean;
                var += d * d;
            }
            var /= H;
            float inv = (float) (1.0 / Math.sqrt(var + c.normEps()));
            float m = (float) mean;
            for (int i = 0; i < H; i++) out[o + i] = (x[o + i] - m) * inv * g[i] + be[i];
        });
    }

    /**
     * Partial NeoX rotary on every head of one token: only the first {@code rot} dims rotate, in pairs
     * {@code (j, j + rot/2)} sharing the angle {@code pos * theta^(-2j/rot)}; dims {@code rot..headDim} pass through.
     */
    void rope(float[] v, int off, int heads, int pos) {
        int hd = c.headDim(), half = c.rotaryDim() / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * hd;
            for (int j = 0; j < half; j++) {
                float cs = cos[pos * half + j], sn = sin[pos * half + j];
                float a = v[base + j], bb = v[base + j + half];
                v[base + j] = a * cs - bb * sn;
                v[base + j + half] = bb * cs + a * sn;
            }
        }
    }

    /**
     * Causal grouped-query attention: query head {@code h} uses KV head {@code h / groupSize}; scores are
     * {@code q.k / sqrt(headDim)}, softmax over positions {@code 0..pos+t}, weights times values. One task per
     * token and KV head serves that head's whole group of query heads, so each cached key and value is read from
     * memory once for the group rather than once per query head; per head it computes the scores, their softmax
     * ({@link VecDot#softmax}) and the weighted sum of values ({@link VecDot#weightedSum}). Decode thus has one task
     * per KV head: 8 in the Minitron models, enough for a few cores.
     */
    void attention(int l, int T, int pos, Buffers b) {
        int hd = c.headDim(), qd = c.qDim(), group = c.groupSize(), kvHeads = c.numKvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] kc = keyCache[l], vc = valueCache[l];
        par.forEach(T * kvHeads, task -> {
            int t = task / kvHeads, g = task % kvHeads;
            int kvOff = g * context * hd, q0 = t * qd + g * group * hd, n = pos + t + 1;
            float[] s = b.scores.get();   // group rows of n scores
            for (int p = 0; p < n; p++) {
                for (int j = 0; j < group; j++) s[j * n + p] = VecDot.dot(b.q, q0 + j * hd, kc, kvOff + p * hd, hd) * scale;
            }
            for (int j = 0; j < group; j++) VecDot.softmax(s, j * n, n);
            for (int j = 0; j < group; j++) VecDot.weightedSum(s, j * n, n, vc, kvOff, hd, b.att, q0 + j * hd, hd);
        });
    }

    private static void relu2(float[] v, int n) {
        for (int i = 0; i < n; i++) {
            float r = Math.max(v[i], 0f);
            v[i] = r * r;
        }
    }

    private static void add(float[] x, float[] d, int n) {
        for (int i = 0; i < n; i++) x[i] += d[i];
    }

    private static void addBias(float[] v, float[] bias, int T) {
        if (bias == null) return;
        for (int t = 0; t < T; t++) for (int i = 0; i < bias.length; i++) v[t * bias.length + i] += bias[i];
    }

    Buffers buffers(int T) {
        if (buf == null || buf.capacity < T) buf = new Buffers(T, c, context);
        return buf;
    }

    /** Activation buffers for up to {@code capacity} tokens, reused between calls. */
    static final class Buffers {
        final int capacity;
        final float[] x, h, q, k, v, att, up;
        final ThreadLocal<float[]> scores;

        Buffers(int T, Config c, int context) {
            capacity = T;
            x = new float[T * c.hiddenSize()];
            h = new float[T * c.hiddenSize()];
            q = new float[T * c.qDim()];
            att = new float[T * c.qDim()];
            k = new float[T * c.kvDim()];
            v = new float[T * c.kvDim()];
            up = new float[T * c.intermediateSize()];
            scores = ThreadLocal.withInitial(() -> new float[c.groupSize() * context]);
        }
    }
}
