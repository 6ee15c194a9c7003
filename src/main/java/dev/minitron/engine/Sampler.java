package dev.minitron.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from the logits, in llama.cpp's order: repetition penalty, then top-k, top-p and min-p
 * filtering of the candidates (on their softmax probabilities), then temperature, then a seeded draw.
 * A temperature of 0 (or below) is greedy: the arg-max after the repetition penalty.
 */
public final class Sampler {

    /**
     * @param temperature   0 = greedy
     * @param topK          keep the k most likely tokens (0 = all)
     * @param topP          keep the smallest set whose probability reaches p (1 = all)
     * @param minP          drop tokens less likely than minP x the best one's probability (0 = none)
     * @param repeatPenalty HF/llama.cpp style: positive logits of recent tokens are divided, negative multiplied (1 = off)
     * @param repeatLastN   how many recent tokens the penalty looks at
     * @param seed          same seed, same draws
     */
    public record Options(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN, long seed) {
        public static Options greedy() {
            return new Options(0f, 0, 1f, 0f, 1f, 64, 0);
        }
    }

    private final Options o;
    private final SplittableRandom random;

    public Sampler(Options o) {
        this.o = o;
        this.random = new SplittableRandom(o.seed());
    }

    /** Chooses a token; {@code history[0..n)} are the tokens so far (for the repetition penalty). */
    public int sample(float[] logits, int[] history, int n) {
        float[] l = logits.clone();
        if (o.repeatPenalty() != 1f) {
            boolean[] seen = new boolean[l.length];
            for (int i = Math.max(0, n - o.repeatLastN()); i < n; i++) {
                int id = history[i];
                if (id < 0 || id >= l.length || seen[id]) continue;
                seen[id] = true;
                l[id] = l[id] > 0 ? l[id] / o.repeatPenalty() : l[id] * o.repeatPenalty();
            }
        }
        if (o.temperature() <= 0f) return argmax(l);

        int[] order = order(l, o.topK());
        int keep = order.length;

        double[] p = softmax(l, order, keep, 1f);
        if (o.topP() < 1f) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += p[i];
                if (cum >= o.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (o.minP() > 0f) {
            double limit = o.minP() * p[0];
            int k = 1;
            while (k < keep && p[k] >= limit) k++;
            keep = k;
        }
        p = softmax(l, order, keep, o.temperature());
        double u = random.nextDouble(), cum = 0;
        for (int i = 0; i < keep; i++) {
            cum += p[i];
            if (u < cum) return order[i];
        }
        return order[keep - 1];
    }

    /**
     * Token ids by descending logit, ties by ascending id: the first {@code k} of them ({@code k <= 0}: all). Each
     * id is packed with its logit into one long whose ascending order is that order, so no boxing; with top-k, a
     * heap keeps the k best while scanning, then only those k are sorted (a 256k vocabulary sorted as boxed
     * integers took about 100 ms per token).
     */
    static int[] order(float[] l, int k) {
        int n = l.length;
        if (k <= 0 || k >= n) k = n;
        long[] keys;
        if (k == n) {
            keys = new long[n];
            for (int i = 0; i < n; i++) keys[i] = key(l[i], i);
        } else {
            keys = new long[k];   // a max-heap of the k smallest keys seen
            for (int i = 0; i < k; i++) siftUp(keys, i, key(l[i], i));
            for (int i = k; i < n; i++) {
                long key = key(l[i], i);
                if (key < keys[0]) siftDown(keys, k, key);
            }
        }
        Arrays.sort(keys);
        int[] ids = new int[k];
        for (int i = 0; i < k; i++) ids[i] = (int) keys[i];
        return ids;
    }

    /** Ascending in this long: descending logit, then ascending id. */
    private static long key(float logit, int id) {
        int b = Float.floatToRawIntBits(logit);
        int ordered = b ^ ((b >> 31) & 0x7FFFFFFF);   // signed-int order of the float values
        return (long) ~ordered << 32 | id;
    }

    private static void siftUp(long[] h, int i, long key) {
        while (i > 0 && h[(i - 1) / 2] < key) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = key;
    }

    /** Replaces the heap's root (its largest key) by {@code key} and restores the heap. */
    private static void siftDown(long[] h, int size, long key) {
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) break;
            if (c + 1 < size && h[c + 1] > h[c]) c++;
            if (h[c] <= key) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = key;
    }

    private static double[] softmax(float[] l, int[] order, int keep, float temp) {
        double[] p = new double[keep];
        double max = l[order[0]], sum = 0;
        for (int i = 0; i < keep; i++) sum += p[i] = Math.exp((l[order[i]] - max) / temp);
        for (int i = 0; i < keep; i++) p[i] /= sum;
        return p;
    }

    public static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
        return best;
    }
}
