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

        Integer[] order = new Integer[l.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(l[b], l[a]));
        int keep = o.topK() > 0 ? Math.min(o.topK(), l.length) : l.length;

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

    private static double[] softmax(float[] l, Integer[] order, int keep, float temp) {
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
