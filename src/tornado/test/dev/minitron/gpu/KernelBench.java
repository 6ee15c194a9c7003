package dev.minitron.gpu;

import dev.minitron.gpu.kernels.Batch;
import dev.minitron.gpu.kernels.Groups;
import dev.minitron.gpu.kernels.MatVec;
import dev.minitron.gpu.kernels.Norm;
import dev.minitron.tensor.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

import java.util.Arrays;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Kernel timings on the device: the matVec loop kernels per dtype, and the one-row loop kernels against the
 * work-group ones of {@code kernels.Groups} (checked for equal results on the way). Median kernel
 * time of 30 runs from TornadoVM's profiler. Not part of the test run:
 * {@code mvn -o test -Dtest=dev.minitron.gpu.KernelBench -Dminitron.gpu.bench=true -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@EnabledIfSystemProperty(named = "minitron.gpu.bench", matches = "true")
class KernelBench {
    static final int RUNS = 30;

    @BeforeAll
    static void tornado() {
        OnDevice.assumeTornadoRuntime();
    }

    @Test
    void matVecPerDtype() {
        int rows = 4096, cols = 4096;
        FloatArray x = TestData.floatArray(cols, 2);
        IntArray batch = TestData.batch(1, 0, 1, 1);
        DeviceMatrix.Scales s = DeviceMatrix.Scales.create();
        for (DType type : new DType[]{DType.F32, DType.BF16, DType.F16, DType.Q8_0}) {
            DeviceMatrix w = DeviceMatrix.of(TestData.matrix(type, rows, cols, 1));
            FloatArray y = new FloatArray(rows);
            double us = time(g -> w.matVec(g, "k", s, x, y, batch, Batch.COUNT, MatVec.OVERWRITE), new WorkerGrid1D(rows), 16,
                    w.data, s.bf16(), s.f16(), x, batch);
            System.out.printf("matVec%-4s %d x %d: %9.1f us  %6.2f GB/s%n", type, rows, cols, us, w.bytes() / us / 1e3);
        }
    }

    @Test
    void matVecLoopVsGroup() {
        for (int[] shape : new int[][]{{1024, 256}, {2048, 256}, {4096, 4096}}) {
            int rows = shape[0], cols = shape[1];
            ShortArray w = (ShortArray) DeviceMatrix.of(TestData.matrix(DType.BF16, rows, cols, 1)).data;
            FloatArray scale = DeviceMatrix.Scales.create().bf16(), x = TestData.floatArray(cols, 2);
            IntArray batch = TestData.batch(1, 0, 1, 1);
            FloatArray y1 = new FloatArray(rows), y2 = new FloatArray(rows);
            double loop = time(g -> g.task("k", MatVec::matVecBF16, w, scale, x, y1, batch, rows, cols, Batch.COUNT, 0)
                    .transferToHost(DataTransferMode.UNDER_DEMAND, y1), new WorkerGrid1D(rows), 16, new Object[]{w, scale, x, batch}, y1);
            KernelContext kc = new KernelContext();
            double grp = time(g -> g.task("k", Groups::matVecBF16, kc, w, scale, x, y2, batch, rows, cols, Batch.COUNT, 0)
                    .transferToHost(DataTransferMode.UNDER_DEMAND, y2), new WorkerGrid1D(rows * Groups.GROUP), Groups.GROUP,
                    new Object[]{w, scale, x, batch}, y2);
            System.out.printf("matVecBF16 %5d x %4d: loop (local 16) %9.1f us   work-groups of %d %9.1f us%n", rows, cols, loop,
                    Groups.GROUP, grp);
            // same results (after the timed runs, which leave y1 / y2 on the device)
            for (int r = 0; r < rows; r++) assertEquals(y1.get(r), y2.get(r), 1e-4f * cols);
        }
    }

    @Test
    void layerNormLoopVsGroup() {
        for (int hidden : new int[]{256, 4096}) {
            FloatArray x = TestData.floatArray(hidden, 3), gamma = TestData.floatArray(hidden, 4), beta = TestData.floatArray(hidden, 5);
            IntArray batch = TestData.batch(16, 0, 1, 1);
            FloatArray o1 = new FloatArray(16 * hidden), o2 = new FloatArray(16 * hidden);
            double loop = time(g -> g.task("k", Norm::layerNorm1p, x, o1, gamma, beta, batch, hidden, 1e-5f, 16, 0)
                    .transferToHost(DataTransferMode.UNDER_DEMAND, o1), new WorkerGrid1D(16), 16, new Object[]{x, gamma, beta, batch}, o1);
            KernelContext kc = new KernelContext();
            double grp = time(g -> g.task("k", Groups::layerNorm1p, kc, x, o2, gamma, beta, batch, hidden, 1e-5f, 0)
                    .transferToHost(DataTransferMode.UNDER_DEMAND, o2), new WorkerGrid1D(16 * Groups.GROUP), Groups.GROUP,
                    new Object[]{x, gamma, beta, batch}, o2);
            System.out.printf("layerNorm1p %4d: loop %8.1f us   work-groups of %d %8.1f us%n", hidden, loop, Groups.GROUP, grp);
            for (int i = 0; i < hidden; i++) assertEquals(o1.get(i), o2.get(i), 1e-4f);
        }
    }

    private static int graphs;

    /**
     * Median kernel time in microseconds of the single task "k" on the given grid; the outputs are copied back
     * after the last run.
     */
    static double time(Consumer<TaskGraph> addTask, WorkerGrid grid, int local, Object... inputs) {
        return time(addTask, grid, local, inputs, new Object[0]);
    }

    static double time(Consumer<TaskGraph> addTask, WorkerGrid grid, int local, Object[] inputs, Object... outputs) {
        String name = "bench" + graphs++;
        TaskGraph g = new TaskGraph(name).transferToDevice(DataTransferMode.FIRST_EXECUTION, inputs);
        addTask.accept(g);
        grid.setLocalWork(local, 1, 1);
        double[] t = new double[RUNS];
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot())) {
            plan.withGridScheduler(new GridScheduler(name + ".k", grid)).withProfiler(ProfilerMode.SILENT);
            QuietStdout.run(plan::execute);
            TornadoExecutionResult last = null;
            for (int i = 0; i < RUNS; i++) {
                last = plan.execute();
                t[i] = last.getProfilerResult().getDeviceKernelTime() / 1e3;
            }
            if (outputs.length > 0) last.transferToHost(outputs);
            plan.withoutProfiler();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        Arrays.sort(t);
        return t[RUNS / 2];
    }
}
