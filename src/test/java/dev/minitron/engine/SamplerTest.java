package dev.minitron.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    /** The candidate order against a plain stable sort of boxed ids (descending logit, ties by id), with many ties. */
    @ParameterizedTest(name = "vocab={0} k={1}")
    @CsvSource({"1, 0", "7, 3", "1000, 0", "1000, 40", "1000, 999", "1000, 1000", "5000, 1", "5000, 64"})
    void orderIsDescendingLogitThenId(int vocab, int k) {
        SplittableRandom r = new SplittableRandom(vocab * 7L + k);
        for (int round = 0; round < 20; round++) {
            float[] l = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                // a coarse grid gives ties; a few -0.0/+0.0, negatives and large values
                l[i] = round % 2 == 0 ? (float) Math.floor(r.nextGaussian() * 4) / 2 : (float) r.nextGaussian() * 30;
                if (r.nextInt(50) == 0) l[i] = r.nextBoolean() ? -0.0f : 0.0f;
            }
            Integer[] boxed = new Integer[vocab];
            for (int i = 0; i < vocab; i++) boxed[i] = i;
            Arrays.sort(boxed, (a, b) -> Float.compare(l[b], l[a]));
            int keep = k > 0 ? Math.min(k, vocab) : vocab;
            int[] want = new int[keep];
            for (int i = 0; i < keep; i++) want[i] = boxed[i];
            assertArrayEquals(want, Sampler.order(l, k), "round " + round);
        }
    }

    /** Same seed, same draws; top-k 1 is greedy; the draws follow the filtered distribution's support. */
    @Test
    void seededDrawsAreRepeatableAndFiltered() {
        SplittableRandom r = new SplittableRandom(3);
        float[] l = new float[256000];
        for (int i = 0; i < l.length; i++) l[i] = (float) r.nextGaussian() * 3;
        int best = Sampler.argmax(l);
        int[] none = new int[0];
        Sampler.Options opts = new Sampler.Options(0.8f, 40, 0.95f, 0.05f, 1f, 64, 11);
        Sampler a = new Sampler(opts), b = new Sampler(opts);
        int[] top40 = Sampler.order(l, 40);
        for (int i = 0; i < 50; i++) {
            int x = a.sample(l, none, 0);
            assertEquals(x, b.sample(l, none, 0), "draw " + i);
            assertTrue(Arrays.stream(top40).anyMatch(t -> t == x), "draw " + i + " outside the top 40: " + x);
        }
        assertEquals(best, new Sampler(new Sampler.Options(0.8f, 1, 1f, 0f, 1f, 64, 5)).sample(l, none, 0));
    }
}
