package dev.minitron.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A STREAM-like read probe: the memory bandwidth that {@code threads} threads reach summing a buffer much
 * larger than the caches, read the same way the decode kernels read weights (vector loads from an off-heap
 * segment, each thread streaming its own contiguous range). It is the denominator of every "fraction of the
 * floor" the benchmarks print.
 */
public final class Bandwidth {
    private Bandwidth() {}

    /** Best of {@code reps} timed passes over a fresh {@code megabytes} buffer, in GB/s (1e9 bytes). */
    public static double readGBps(Parallel par, int megabytes, int reps) {
        long bytes = (long) megabytes << 20;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(bytes, 64);
            for (long o = 0; o < bytes; o += 4096) seg.set(ValueLayout.JAVA_BYTE, o, (byte) 1);
            MemorySegment shared = seg;
            int chunks = par.threads();
            long per = bytes / chunks / (1 << 20) * (1 << 20); // whole 1 MiB slices per thread
            double best = 0;
            float[] sink = new float[chunks];
            for (int r = 0; r < reps + 1; r++) {
                long t0 = System.nanoTime();
                par.forEach(chunks, c -> sink[c] = sum(shared, c * per, per));
                double s = (System.nanoTime() - t0) / 1e9;
                if (r > 0) best = Math.max(best, per * chunks / s / 1e9);
            }
            return best;
        }
    }

    /**
     * Sums {@code [from, from + len)} in 1 MiB slices with an int loop index: C2 hoists the bounds checks out of
     * such loops, and the read then matches a C AVX-512 loop (27 GB/s on one core here); a single loop with a
     * long index over the whole range reads a third slower and would flatter every fraction of the floor.
     */
    private static float sum(MemorySegment s, long from, long len) {
        var sp = FloatVector.SPECIES_PREFERRED;
        int step = sp.vectorByteSize();
        int chunk = 1 << 20;
        FloatVector a0 = FloatVector.zero(sp), a1 = a0, a2 = a0, a3 = a0;
        for (long base = from; base + chunk <= from + len; base += chunk) {
            MemorySegment c = s.asSlice(base, chunk);
            for (int o = 0; o < chunk; o += 4 * step) {
                a0 = a0.add(FloatVector.fromMemorySegment(sp, c, o, ByteOrder.LITTLE_ENDIAN));
                a1 = a1.add(FloatVector.fromMemorySegment(sp, c, o + step, ByteOrder.LITTLE_ENDIAN));
                a2 = a2.add(FloatVector.fromMemorySegment(sp, c, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
                a3 = a3.add(FloatVector.fromMemorySegment(sp, c, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
            }
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
