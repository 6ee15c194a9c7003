package dev.minitron.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ParallelTest {
    /** Every iteration runs exactly once, over many back-to-back loops of varying size (as decode calls it). */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void everyIterationOnce(int threads) {
        try (Parallel par = new Parallel(threads)) {
            for (int round = 0; round < 2000; round++) {
                int n = round % 37;
                AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(n, 1));
                par.forEach(n, i -> runs.incrementAndGet(i));
                for (int i = 0; i < n; i++) assertEquals(1, runs.get(i), "round " + round + ", iteration " + i);
            }
        }
    }

    @Test
    void rangesCoverEachIndexOnce() {
        try (Parallel par = new Parallel(2)) {
            for (int n : new int[] {1, 15, 16, 17, 1000, 9216}) {
                AtomicIntegerArray runs = new AtomicIntegerArray(n);
                par.forRanges(n, 16, (from, to) -> {
                    for (int i = from; i < to; i++) runs.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertEquals(1, runs.get(i), "n " + n + ", index " + i);
            }
        }
    }

    /** A failing iteration's exception reaches the caller, and the pool still works afterwards. */
    @Test
    void exceptionReachesCaller() {
        try (Parallel par = new Parallel(2)) {
            IllegalStateException boom = new IllegalStateException("boom");
            IllegalStateException got = assertThrows(IllegalStateException.class, () -> par.forEach(64, i -> {
                if (i == 40) throw boom;
            }));
            assertSame(boom, got);
            AtomicIntegerArray runs = new AtomicIntegerArray(8);
            par.forEach(8, runs::incrementAndGet);
            for (int i = 0; i < 8; i++) assertEquals(1, runs.get(i));
        }
    }

    /** A loop started from inside a loop's body runs inline instead of waiting for busy threads. */
    @Test
    void nestedLoopsRunInline() {
        try (Parallel par = new Parallel(2)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(16 * 16);
            par.forEach(16, i -> par.forEach(16, j -> runs.incrementAndGet(16 * i + j)));
            for (int i = 0; i < 256; i++) assertEquals(1, runs.get(i));
        }
    }
}
