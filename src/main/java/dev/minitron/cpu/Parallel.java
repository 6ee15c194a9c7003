package dev.minitron.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * A fixed pool of worker threads that runs "for i in [0, n): body(i)" with the iterations split across the
 * threads. With one thread the loop runs inline, so the CPU path can be followed in a debugger like plain Java.
 */
public final class Parallel implements AutoCloseable {
    private final int threads;
    private final ForkJoinPool pool;

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads);
    }

    public int threads() { return threads; }

    /** Runs {@code body(i)} for every i in [0, n), in parallel; returns when all are done. */
    public void forEach(int n, IntConsumer body) {
        if (pool == null || n == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }

    /**
     * Splits [0, n) into about {@code 4 * threads} contiguous ranges (aligned to {@code grain}) and runs
     * {@code body(from, to)} on each: coarse enough to keep per-task overhead small, fine enough to balance.
     */
    public void forRanges(int n, int grain, RangeBody body) {
        int chunks = Math.max(1, Math.min(threads * 4, (n + grain - 1) / grain));
        int per = ((n + chunks - 1) / chunks + grain - 1) / grain * grain;
        int count = (n + per - 1) / per;
        forEach(count, c -> body.run(c * per, Math.min(n, (c + 1) * per)));
    }

    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdown();
    }
}
