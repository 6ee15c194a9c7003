package dev.minitron.cpu;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of worker threads that runs "for i in [0, n): body(i)" with the iterations split across the
 * threads. With one thread the loop runs inline, so the CPU path can be followed in a debugger like plain Java.
 *
 * <p>Decode calls this about 230 times per token (every matrix, every attention), each for a few hundred
 * microseconds of work, so the cost of starting and joining a loop matters. The caller runs iterations itself
 * ({@code threads - 1} helper threads), and an idle helper spins for {@value #SPIN_MICROS} µs before it sleeps, so
 * the next loop usually finds it awake. Measured on the 2-core VM, 8 empty iterations: a {@code ForkJoinPool}
 * took 17-55 µs per loop, this 0.3 µs. Spinning costs nothing while the caller does serial work on another core;
 * with more threads than cores ({@code -t 4} on 2 cores) decode measured no slower than with 2.
 */
public final class Parallel implements AutoCloseable {
    /** How long an idle helper waits awake for the next loop before it parks. */
    static final long SPIN_MICROS = 200;

    private final int threads;
    private final Thread[] helpers;
    /** The loop being run, or the last one; helpers take iterations from it until none are left. */
    private volatile Job current;
    private volatile boolean closed;
    private boolean running;

    /** One loop: its body, size, the next unclaimed iteration, the count finished, and the first failure. */
    private static final class Job {
        final IntConsumer body;
        final int n;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        volatile Throwable failure;

        Job(IntConsumer body, int n) {
            this.body = body;
            this.n = n;
        }

        /** Claims and runs iterations until none are left. */
        void work() {
            for (int i; (i = next.getAndIncrement()) < n; done.incrementAndGet()) {
                try {
                    body.accept(i);
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                }
            }
        }
    }

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.helpers = new Thread[threads - 1];
        for (int i = 0; i < helpers.length; i++) {
            helpers[i] = Thread.ofPlatform().daemon().name("minitron-worker-" + (i + 1)).unstarted(this::helperLoop);
            helpers[i].start();
        }
    }

    public int threads() { return threads; }

    /**
     * Runs {@code body(i)} for every i in [0, n), in parallel; returns when all are done. A call from inside a
     * body (or while another loop runs) runs inline. An exception thrown by the body is rethrown here.
     */
    public void forEach(int n, IntConsumer body) {
        if (helpers.length == 0 || n <= 1 || !begin()) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        try {
            Job job = new Job(body, n);
            current = job;
            for (Thread h : helpers) LockSupport.unpark(h);
            job.work();
            while (job.done.get() < n) Thread.onSpinWait();
            Throwable t = job.failure;
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        } finally {
            end();
        }
    }

    /** Marks a loop as running, unless this is a helper thread or a loop already runs (then: run inline). */
    private synchronized boolean begin() {
        if (running || isHelper()) return false;
        running = true;
        return true;
    }

    private synchronized void end() {
        running = false;
    }

    private boolean isHelper() {
        for (Thread h : helpers) if (h == Thread.currentThread()) return true;
        return false;
    }

    private void helperLoop() {
        Job seen = null;
        while (!closed) {
            Job job = current;
            if (job != null && job != seen) {
                seen = job;
                job.work();
                continue;
            }
            long until = System.nanoTime() + TimeUnit.MICROSECONDS.toNanos(SPIN_MICROS);
            while (current == seen && !closed && System.nanoTime() < until) Thread.onSpinWait();
            if (current == seen && !closed) LockSupport.park(this);
        }
    }

    /**
     * Runs {@code body(from, to)} over contiguous ranges covering [0, n), each a multiple of {@code grain} long
     * (but the last). Threads claim ranges as they become free, each taking a {@code 1 / (2 threads)} share of what is
     * left: large ranges first, {@code grain}-sized ones at the end, so the threads finish within a small range of
     * each other. Measured on the 2-core VM, 4B Q4_K_M decode, alternating in one process: with eight equal ranges
     * the caller waited about 5 ms per token at the ends of loops for the other thread, with these ranges 1 ms;
     * 134 -> 126 ms per token (medians of five).
     */
    public void forRanges(int n, int grain, RangeBody body) {
        AtomicInteger next = new AtomicInteger();
        forEach(threads, i -> {
            for (int from; (from = next.get()) < n; ) {
                int to = Math.min(n, from + Math.max(grain, (n - from) / (2 * threads) / grain * grain));
                if (next.compareAndSet(from, to)) body.run(from, to);
            }
        });
    }

    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread h : helpers) LockSupport.unpark(h);
    }
}
