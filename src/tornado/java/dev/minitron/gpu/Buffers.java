package dev.minitron.gpu;

import dev.minitron.gpu.kernels.Batch;
import dev.minitron.model.Config;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Everything a forward pass keeps on the device besides the weights: the batch descriptor, the residual stream,
 * the layers' scratch, the KV caches, the rotary tables and the output. Sized for chunks of up to
 * {@code maxTokens} tokens; nothing here is copied back to the host except the logits (or the argmax id).
 */
final class Buffers {
    /** Slices of the last logits row that the first argmax step scans in parallel. */
    static final int ARGMAX_CHUNKS = 256;

    final int maxTokens;
    final IntArray batch;
    /** Residual stream {@code [maxTokens, hidden]}. */
    final FloatArray x;
    /** Layer scratch: normed input, q/k/v, attention output, FFN hidden, attention scores. */
    final FloatArray h, q, k, v, att, up, scores;
    /** Per layer {@code [context, kvDim]}. */
    final FloatArray[] keyCache, valueCache;
    /** {@code [context, rotaryDim/2]}; empty when the model has no rotary dims. */
    final FloatArray cos, sin;
    /** Output: final-normed rows, their logits {@code [maxTokens, vocab]}, and the argmax. */
    final FloatArray normed, logits, bestValue;
    final IntArray bestIndex, argmax;

    Buffers(Config c, int context, int maxTokens) {
        this.maxTokens = maxTokens;
        batch = new IntArray(Batch.size(maxTokens));
        batch.init(0);
        x = zeros(maxTokens * c.hiddenSize());
        h = zeros(maxTokens * c.hiddenSize());
        q = zeros(maxTokens * c.qDim());
        att = zeros(maxTokens * c.qDim());
        k = zeros(maxTokens * c.kvDim());
        v = zeros(maxTokens * c.kvDim());
        up = zeros(maxTokens * c.intermediateSize());
        scores = zeros(maxTokens * c.numHeads() * context);
        keyCache = new FloatArray[c.numLayers()];
        valueCache = new FloatArray[c.numLayers()];
        for (int l = 0; l < c.numLayers(); l++) {
            keyCache[l] = zeros(context * c.kvDim());
            valueCache[l] = zeros(context * c.kvDim());
        }
        int pairs = c.rotaryDim() / 2;
        cos = zeros(Math.max(1, context * pairs));
        sin = zeros(Math.max(1, context * pairs));
        for (int p = 0; p < context; p++) {
            for (int j = 0; j < pairs; j++) {
                // as the CPU path: inv_freq[j] = theta^(-2j/rot), positions divided by the linear rope scale
                double angle = (p / (double) c.ropeScale()) * Math.pow(c.ropeTheta(), -2.0 * j / c.rotaryDim());
                cos.set(p * pairs + j, (float) Math.cos(angle));
                sin.set(p * pairs + j, (float) Math.sin(angle));
            }
        }
        normed = zeros(maxTokens * c.hiddenSize());
        logits = zeros(maxTokens * c.vocabSize());
        bestValue = zeros(ARGMAX_CHUNKS);
        bestIndex = new IntArray(ARGMAX_CHUNKS);
        argmax = new IntArray(1);
    }

    /** Device bytes of these buffers for a model and context, without allocating them. */
    static long bytes(Config c, int context, int maxTokens) {
        long floats = 3L * maxTokens * c.hiddenSize() + 2L * maxTokens * c.qDim() + 2L * maxTokens * c.kvDim()
                + (long) maxTokens * c.intermediateSize() + (long) maxTokens * c.numHeads() * context
                + 2L * c.numLayers() * context * c.kvDim() + 2L * context * (c.rotaryDim() / 2)
                + (long) maxTokens * c.vocabSize() + 2L * ARGMAX_CHUNKS;
        return 4 * floats;
    }

    /** Bytes of the KV caches alone. */
    static long kvCacheBytes(Config c, int context) {
        return 8L * c.numLayers() * context * c.kvDim();
    }

    private static FloatArray zeros(int n) {
        FloatArray a = new FloatArray(n);
        a.init(0f);
        return a;
    }
}
