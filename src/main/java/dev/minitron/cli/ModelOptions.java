package dev.minitron.cli;

import dev.minitron.engine.Backends;
import dev.minitron.io.ModelException;
import dev.minitron.io.ModelLoader;
import dev.minitron.model.Model;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Options shared by every command that loads a model: {@code -m}, {@code -t}. */
public final class ModelOptions {
    @Option(names = {"-m", "--model"}, paramLabel = "PATH",
            description = "Hugging Face model folder or .gguf file (default: the embedded demo model)")
    Path model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "CPU threads (default: all cores)")
    Integer threads;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "java",
            description = "java (CPU, default) or tornado (TornadoVM: GPU via PTX/OpenCL; needs TORNADOVM_HOME)")
    String backend;

    @Option(names = "--device", paramLabel = "B:D", description = "TornadoVM device id (backend:device, see 'minitron devices')")
    String device;

    @Option(names = "--profile", description = "With --backend tornado: print per-task kernel and transfer times")
    boolean profile;

    Backends.Choice backend() {
        if (!backend.equals("java") && !backend.equals("tornado")) {
            throw new ModelException("--backend " + backend + ": expected java or tornado");
        }
        if (device != null && !device.matches("\\d+:\\d+")) throw new ModelException("--device " + device + ": expected B:D, e.g. 0:0");
        return new Backends.Choice(backend, device, profile);
    }

    int threads() {
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1 || n > 1024) throw new ModelException("-t/--threads must be between 1 and 1024, got " + n);
        return n;
    }

    /** The model path, or the embedded demo model ({@code weights/demo} under the installation). */
    Path path() {
        if (model != null) return model;
        String home = System.getProperty("minitron.home");
        Path demo = (home != null ? Path.of(home) : Path.of("")).resolve("weights").resolve("demo");
        if (!Files.isDirectory(demo)) throw new ModelException("no -m given and the demo model is not at " + demo.toAbsolutePath());
        return demo;
    }

    Model load(PrintWriter err) {
        threads(); // a bad -t is reported before the (possibly long) load
        Model m = ModelLoader.load(path());
        for (String w : m.warnings()) err.println("warning: " + w);
        return m;
    }
}
