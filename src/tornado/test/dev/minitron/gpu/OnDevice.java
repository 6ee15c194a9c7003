package dev.minitron.gpu;

import dev.minitron.gpu.kernels.Groups;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/** Runs one kernel task through TornadoVM on the default device (test helper). */
final class OnDevice {
    private OnDevice() {}

    private static final AtomicInteger GRAPHS = new AtomicInteger();

    /**
     * Skips the calling test class unless this JVM runs under TornadoVM's argfile. With {@code -Dtest=...} surefire
     * drops the pom's excludes, so the plain test execution picks these classes up too; there they are skipped and
     * the profile's own execution (under the argfile) runs them.
     */
    static void assumeTornadoRuntime() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("tornado.load.api.implementation") != null,
                "not running under TornadoVM's argfile");
    }

    /**
     * Copies {@code inputs} to the device, adds the task with {@code addTask}, runs it once and copies
     * {@code outputs} back (an array that is read and written belongs in both).
     */
    static void run(Object[] inputs, UnaryOperator<TaskGraph> addTask, Object... outputs) {
        TaskGraph g = new TaskGraph("test" + GRAPHS.incrementAndGet())
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, inputs);
        g = addTask.apply(g).transferToHost(DataTransferMode.EVERY_EXECUTION, outputs);
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot())) {
            plan.execute();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * As {@link #run}, for a {@link Groups} kernel added as task {@code task}: the grid is {@code groups} work-groups
     * of {@link Groups#GROUP} work-items.
     */
    static void runGroups(Object[] inputs, String task, int groups, UnaryOperator<TaskGraph> addTask, Object... outputs) {
        String name = "test" + GRAPHS.incrementAndGet();
        TaskGraph g = new TaskGraph(name).transferToDevice(DataTransferMode.EVERY_EXECUTION, inputs);
        g = addTask.apply(g).transferToHost(DataTransferMode.EVERY_EXECUTION, outputs);
        WorkerGrid1D grid = new WorkerGrid1D(groups * Groups.GROUP);
        grid.setLocalWork(Groups.GROUP, 1, 1);
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot())) {
            plan.withGridScheduler(new GridScheduler(name + "." + task, grid)).execute();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Object[] in(Object... objects) {
        return objects;
    }

    static FloatArray copy(FloatArray a) {
        return FloatArray.fromArray(a.toHeapArray());
    }

    static IntArray copy(IntArray a) {
        return IntArray.fromArray(a.toHeapArray());
    }
}
