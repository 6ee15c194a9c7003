package dev.minitron.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.engine.Backends;
import dev.minitron.io.ModelException;
import dev.minitron.io.ModelLoader;
import dev.minitron.model.Model;
import dev.minitron.tools.Bench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code minitron bench}: prefill and decode tokens/s per model and thread count, with the bandwidth floor. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prefill (pp) and decode (tg) speed against the memory-bandwidth floor.")
public final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH", required = true, split = ",",
            description = "Model folder or .gguf (repeatable or comma-separated)")
    List<Path> models;
    @Option(names = {"-t", "--threads"}, paramLabel = "N", split = ",", description = "Thread counts (default: all cores)")
    List<Integer> threads;
    @Option(names = {"-p", "--n-prompt"}, paramLabel = "N", defaultValue = "128", description = "Prompt tokens for pp (0 = skip; default: ${DEFAULT-VALUE})")
    int p;
    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", defaultValue = "64", description = "Generated tokens for tg (0 = skip; default: ${DEFAULT-VALUE})")
    int n;
    @Option(names = {"-r", "--repetitions"}, paramLabel = "N", defaultValue = "5", description = "Timed repetitions (default: ${DEFAULT-VALUE})")
    int reps;
    @Option(names = "--backend", paramLabel = "NAME", split = ",", defaultValue = "java",
            description = "java and/or tornado (comma-separated; default: ${DEFAULT-VALUE})")
    List<String> backends;
    @Option(names = "--device", paramLabel = "B:D", description = "TornadoVM device id for --backend tornado")
    String device;
    @Option(names = "--matrices", description = "Also time each weight matrix's decode product (java backend): "
            + "microseconds, GB/s and ms per token per kind of matrix")
    boolean matrices;
    @Option(names = "--json", description = "Print JSON") boolean json;
    @Option(names = "--csv", description = "Print CSV") boolean csv;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        for (String b : backends) {
            if (!b.equals("java") && !b.equals("tornado")) throw new ModelException("--backend " + b + ": expected java or tornado");
        }
        GenerateCommand.check(p >= 0 && n >= 0 && (p > 0 || n > 0), "-p and -n must be >= 0 and not both 0");
        GenerateCommand.check(reps >= 1, "-r must be >= 1, got " + reps);
        List<Integer> ts = threads == null ? List.of(Runtime.getRuntime().availableProcessors()) : threads;
        for (int t : ts) GenerateCommand.check(t >= 1 && t <= 1024, "-t must be between 1 and 1024, got " + t);
        List<Bench.Row> rows = new ArrayList<>();
        Map<String, List<Bench.MatrixRow>> perMatrix = new LinkedHashMap<>();   // "model, N threads" -> rows
        Map<Integer, Double> bw = new LinkedHashMap<>();
        for (Path path : models) {
            Model m = ModelLoader.load(path);
            for (String w : m.warnings()) err.println("warning: " + w);
            for (String backend : backends) {
                Backends.Choice choice = new Backends.Choice(backend, device, false);
                for (int t : backend.equals("java") ? ts : List.of(1)) {
                    double b = backend.equals("java") ? bw.computeIfAbsent(t, Bench::bandwidth)
                            : bw.computeIfAbsent(-1, k -> Backends.tornadoBandwidthGBps(choice));
                    if (!json && !csv) err.printf("benchmarking %s on %s with %d threads (bandwidth %.1f GB/s)...%n", path, backend, t, b);
                    rows.addAll(Bench.run(m, path.getFileName().toString(), t, p, n, reps, b, choice, err));
                    if (matrices && backend.equals("java")) perMatrix.put(path.getFileName() + ", " + t + " threads", Bench.matrices(m, t, reps));
                }
            }
        }
        ObjectMapper om = new ObjectMapper();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("machine", Bench.machine(backends.contains("tornado")));
            o.put("rows", rows);
            if (matrices) o.put("matrices", perMatrix);
            out.println(om.writeValueAsString(o));
        } else if (csv) {
            out.println("model,dtype,backend,device,threads,test,tokens_per_s,tokens_per_s_min,tokens_per_s_max,"
                    + "bytes_per_token,bandwidth_gb_s,floor_tokens_per_s,floor_fraction,gflops");
            for (Bench.Row r : rows) {
                out.printf(java.util.Locale.ROOT, "%s,%s,%s,\"%s\",%d,%s,%.3f,%.3f,%.3f,%d,%.2f,%.3f,%.4f,%.2f%n", r.model(), r.dtype(), r.backend(),
                        r.device(), r.threads(), r.test(), r.tokensPerS(), r.tokensPerSMin(), r.tokensPerSMax(),
                        r.bytesPerToken(), r.bandwidthGBps(), r.floorTokensPerS(), r.floorFraction(), r.gflops());
            }
        } else {
            out.printf("machine: %s%n", Bench.machine(backends.contains("tornado")));
            out.printf("| %-28s | %-9s | %-7s | %3s | %-6s | %15s | %9s | %10s | %7s | %7s |%n", "model", "dtype", "backend",
                    "thr", "test", "tokens/s", "GB/token", "floor t/s", "floor %", "GFLOP/s");
            out.println("|" + "-".repeat(30) + "|" + "-".repeat(11) + "|" + "-".repeat(9) + "|" + "-".repeat(5) + "|"
                    + "-".repeat(8) + "|" + "-".repeat(17) + "|" + "-".repeat(11) + "|" + "-".repeat(12) + "|"
                    + "-".repeat(9) + "|" + "-".repeat(9) + "|");
            for (Bench.Row r : rows) {
                out.printf("| %-28s | %-9s | %-7s | %3d | %-6s | %7.2f ± %5.2f | %9.3f | %10.2f | %6.1f%% | %7.1f |%n",
                        r.model(), r.dtype(), r.backend(), r.threads(), r.test(), r.tokensPerS(),
                        (r.tokensPerSMax() - r.tokensPerSMin()) / 2, r.bytesPerToken() / 1e9, r.floorTokensPerS(),
                        100 * r.floorFraction(), r.gflops());
            }
            perMatrix.forEach((what, ms) -> {
                out.printf("%ndecode matrix products, %s (mean of %d passes):%n", what, reps);
                out.printf("| %-28s | %-5s | %-13s | %9s | %10s | %6s | %8s |%n", "matrix", "dtype", "shape", "per token", "µs each", "GB/s", "ms/token");
                out.println("|" + "-".repeat(30) + "|" + "-".repeat(7) + "|" + "-".repeat(15) + "|" + "-".repeat(11) + "|"
                        + "-".repeat(12) + "|" + "-".repeat(8) + "|" + "-".repeat(10) + "|");
                double total = 0;
                for (Bench.MatrixRow r : ms) {
                    out.printf("| %-28s | %-5s | %-13s | %9d | %10.1f | %6.2f | %8.2f |%n", r.matrix(), r.dtype(),
                            r.rows() + "x" + r.cols(), r.perToken(), r.usEach(), r.gbPerS(), r.msPerToken());
                    total += r.msPerToken();
                }
                out.printf("total: %.1f ms per token in matrix products%n", total);
            });
        }
        return 0;
    }
}
