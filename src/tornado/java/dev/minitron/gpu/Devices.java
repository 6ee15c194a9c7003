package dev.minitron.gpu;

import dev.minitron.gpu.kernels.Copy;
import dev.minitron.io.ModelException;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoBackend;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** TornadoVM devices by id ({@code "backend:device"}, as {@code tornado --devices} numbers them). */
final class Devices {
    private Devices() {}

    /** One line per device: {@code "B:D  name  (backend, global memory GB)"}. */
    static List<String> list() {
        List<String> lines = new ArrayList<>();
        List<TornadoBackend> backends = TornadoExecutionPlan.getTornadoDeviceMap().getAllBackends();
        for (int b = 0; b < backends.size(); b++) {
            TornadoBackend backend = backends.get(b);
            for (int d = 0; d < backend.getNumDevices(); d++) {
                TornadoDevice dev = backend.getDevice(d);
                lines.add(String.format(Locale.ROOT, "%d:%d  %s  (%s, %.1f GB)", b, d, dev.getPhysicalDevice().getDeviceName().trim(),
                        backend.getBackendType(), dev.getMaxGlobalMemory() / 1073741824.0));
            }
        }
        return lines;
    }

    /** The device {@code "B:D"}, or TornadoVM's default device when {@code id} is null. */
    static TornadoDevice find(String id) {
        if (id == null || id.isBlank()) return TornadoExecutionPlan.DEFAULT_DEVICE;
        String[] p = id.trim().split(":");
        int b, d;
        try {
            if (p.length != 2) throw new NumberFormatException();
            b = Integer.parseInt(p[0]);
            d = Integer.parseInt(p[1]);
        } catch (NumberFormatException e) {
            throw new ModelException("--device " + id + ": expected backend:device, e.g. 0:0 (see 'minitron devices')");
        }
        List<TornadoBackend> backends = TornadoExecutionPlan.getTornadoDeviceMap().getAllBackends();
        if (b < 0 || b >= backends.size() || d < 0 || d >= backends.get(b).getNumDevices()) {
            throw new ModelException("--device " + id + ": no such TornadoVM device; available: " + String.join("; ", list()));
        }
        return backends.get(b).getDevice(d);
    }

    /** Short description for logs: {@code "0:0 name (OPENCL, CPU)"}. */
    static String describe(TornadoDevice dev) {
        return dev.getBackendIndex() + ":" + dev.getDeviceContext().getDeviceIndex() + " " + dev.getPhysicalDevice().getDeviceName().trim()
                + " (" + dev.getTornadoVMBackend() + ", " + dev.getDeviceType() + ")";
    }

    static boolean isCpu(TornadoDevice dev) {
        return dev.getDeviceType() == TornadoDeviceType.CPU;
    }

    /**
     * Device memory bandwidth: a device-side copy of a 64 Mi-float array (256 MB read + 256 MB written), best of 5
     * timed runs after a warm-up, counted as bytes read + written per second of the kernel's own time (TornadoVM's
     * profiler), or of the wall time around the launch where the profiler gives none. (Wall time includes TornadoVM's
     * launch and sync, about a millisecond per execution on an H200: it measured 0.7 TB/s there, a third of a
     * millisecond of copying.)
     */
    static double bandwidthGBps(String id) {
        TornadoDevice dev = find(id);
        int n = 1 << 26;
        FloatArray src = new FloatArray(n), dst = new FloatArray(n);
        src.init(1f);
        TaskGraph g = new TaskGraph("bandwidth")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, src)
                .task("copy", Copy::copy, src, dst, n)
                .transferToHost(DataTransferMode.UNDER_DEMAND, dst);
        GridScheduler grid = new GridScheduler();
        grid.addWorkerGrid("bandwidth.copy", Grids.worker(n, isCpu(dev)));
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot())) {
            plan.withDevice(dev).withGridScheduler(grid).withProfiler(ProfilerMode.SILENT);
            QuietStdout.run(plan::execute);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                TornadoExecutionResult r = plan.execute();
                long kernel = r.getProfilerResult().getDeviceKernelTime();
                best = Math.min(best, (kernel > 0 ? kernel : System.nanoTime() - t0) / 1e9);
            }
            return 2.0 * n * Float.BYTES / best / 1e9;
        } catch (ModelException e) {
            throw e;
        } catch (Exception e) {
            throw new ModelException("--backend tornado: bandwidth test failed on " + describe(dev) + ": " + e.getMessage());
        }
    }
}
