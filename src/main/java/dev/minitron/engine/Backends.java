package dev.minitron.engine;

import dev.minitron.cpu.Parallel;
import dev.minitron.io.ModelException;
import dev.minitron.model.Model;

import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;

/**
 * Chooses the forward pass: {@code java} (the CPU path, always there) or {@code tornado} (the TornadoVM path in
 * {@code dev.minitron.gpu}, compiled only where a TornadoVM SDK was found at build time, and runnable only under
 * TornadoVM's launcher/argfile). The GPU class is looked up by name so the core builds without the SDK.
 */
public final class Backends {
    private Backends() {}

    static final String TORNADO_CLASS = "dev.minitron.gpu.TornadoForward";

    /** What the user asked for: backend name, TornadoVM device id ("0:0") or null, per-task profiling. */
    public record Choice(String backend, String device, boolean profile) {
        public static Choice java() {
            return new Choice("java", null, false);
        }
    }

    public static ForwardPass open(Choice choice, Model m, int context, Parallel par, PrintWriter log) {
        return switch (choice.backend()) {
            case "java" -> new Forward(m.config(), m.weights(), context, par);
            case "tornado" -> openTornado(choice, m, context, log);
            default -> throw new ModelException("--backend " + choice.backend() + ": expected java or tornado");
        };
    }

    /** The device's memory bandwidth in GB/s measured by a device copy (TornadoVM backend only). */
    public static double tornadoBandwidthGBps(Choice choice) {
        Method bw = tornadoMethod(true, "--backend tornado: TornadoVM backend not available in this JVM",
                "bandwidthGBps", String.class);
        return (double) invoke(bw, choice.device());
    }

    /**
     * TornadoVM's devices, one line each ({@code "0:0  NVIDIA H100 ..."}), from {@code TornadoForward.devices()}.
     * Fails with a one-line {@link ModelException} naming {@code TORNADOVM_HOME} where this JVM has no TornadoVM
     * backend, and with the runtime's own reason where TornadoVM is there but cannot start (no driver, say).
     */
    public static List<String> tornadoDevices() {
        // not initialised here: a static initialiser that fails (no driver) is a runtime error, reported below
        Method devices = tornadoMethod(false, "no TornadoVM backend in this JVM: set TORNADOVM_HOME to a TornadoVM SDK "
                + "and run through bin/minitron (it rebuilds with the GPU backend and starts Java with TornadoVM's argfile)",
                "devices");
        try {
            List<?> list = (List<?>) devices.invoke(null);
            return list.stream().map(String::valueOf).toList();
        } catch (InvocationTargetException e) {
            throw cannotList(e.getCause());
        } catch (LinkageError e) {
            // a missing driver or native library surfaces as an Error from TornadoVM's static initialisers
            throw cannotList(e);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static RuntimeException cannotList(Throwable c) {
        if (c instanceof ModelException me) return me;
        Throwable root = c;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        if (System.getenv("MINITRON_DEBUG") != null) c.printStackTrace();
        return new ModelException("TornadoVM could not list its devices: " + oneLine(root));
    }

    private static String oneLine(Throwable t) {
        String m = t.getMessage();
        String s = m == null || m.isBlank() ? t.getClass().getSimpleName() : m.lines().findFirst().orElse("").strip();
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    private static ForwardPass openTornado(Choice choice, Model m, int context, PrintWriter log) {
        Method open = tornadoMethod(true, "--backend tornado: this build has no TornadoVM backend or TornadoVM is not on "
                + "the JVM; set TORNADOVM_HOME to a TornadoVM SDK, rebuild (bin/minitron does it) and run through bin/minitron",
                "open", Model.class, int.class, String.class, boolean.class, PrintWriter.class);
        return (ForwardPass) invoke(open, m, context, choice.device(), choice.profile(), log);
    }

    /**
     * A public static method of {@code TornadoForward}, looked up by name because that class exists only in builds
     * with the SDK; {@code missing} is the one-line error when it (or TornadoVM's API) is not on this JVM.
     */
    private static Method tornadoMethod(boolean initialize, String missing, String name, Class<?>... params) {
        try {
            Class.forName("uk.ac.manchester.tornado.api.TaskGraph");
            return Class.forName(TORNADO_CLASS, initialize, Backends.class.getClassLoader()).getMethod(name, params);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new ModelException(missing);
        }
    }

    /** Calls a static method, rethrowing what it threw (its ModelExceptions reach the CLI as one line). */
    private static Object invoke(Method method, Object... args) {
        try {
            return method.invoke(null, args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
