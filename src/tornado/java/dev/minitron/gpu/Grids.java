package dev.minitron.gpu;

import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;

/**
 * Worker grids for the {@code @Parallel} kernels: one work-item per loop iteration.
 *
 * <p>The global size must be exactly the number of iterations: when a task has a worker grid, TornadoVM takes a
 * {@code @Parallel} loop bound that is a plain kernel parameter ({@code r < rows}) from the grid's global size
 * instead of the argument (so the grid can change without recompiling), and every other use of that parameter
 * sees the same value. Padding the grid would run past the arrays. So the local size is the largest divisor of
 * the item count up to the preferred size (OpenCL 1.2 devices, PoCL among them, need the global size to be a
 * multiple of the local size).
 *
 * <p>Preferred local sizes: a GPU wants work-groups of a few warps; PoCL runs each work-group as a loop on one
 * core, where small groups balance better over its few cores.
 */
final class Grids {
    private Grids() {}

    static final int GPU_LOCAL = 128;
    static final int CPU_LOCAL = 16;

    static WorkerGrid worker(int items, boolean cpu) {
        WorkerGrid g = new WorkerGrid1D(items);
        g.setLocalWork(localSize(items, cpu ? CPU_LOCAL : GPU_LOCAL), 1, 1);
        return g;
    }

    /** The largest divisor of {@code items} that is at most {@code preferred}. */
    static int localSize(int items, int preferred) {
        for (int l = Math.min(preferred, items); l > 1; l--) {
            if (items % l == 0) return l;
        }
        return 1;
    }
}
