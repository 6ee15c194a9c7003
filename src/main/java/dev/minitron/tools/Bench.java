package dev.minitron.tools;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.minitron.cpu.Bandwidth;
import dev.minitron.cpu.MatMul;
import dev.minitron.cpu.Parallel;
import dev.minitron.engine.Backends;
import dev.minitron.engine.ForwardPass;
import dev.minitron.engine.Sampler;
import dev.minitron.io.ModelException;
import dev.minitron.model.Model;
import dev.minitron.model.Weights;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * llama-bench-style measurements on the CPU path: prefill of {@code p} tokens ({@code pp<p>}) and decode of
 * {@code n} tokens ({@code tg<n>}), one warm-up run excluded, {@code r} timed repetitions (median, min, max),
 * each next to the memory-bandwidth floor measured by {@link Bandwidth} in the same run.
 *
 * <p>Floor: decoding reads every weight matrix once per token (one row of the embedding), so
 * {@code floor_tokens_per_s = bandwidth / bytes_per_token}. A prefill of p tokens reads the weights once for
 * the whole batch, so its memory floor is p times higher; prefill is compute-bound and its fraction of that
 * floor is expected to be small (GFLOP/s are reported as well).
 */
public final class Bench {
    private Bench() {}

    /** One result row; field names are those of the JSON output. */
    public record Row(String model, String dtype, String backend, String device, int threads, String test,
                      @JsonProperty("tokens_per_s") double tokensPerS,
                      @JsonProperty("tokens_per_s_min") double tokensPerSMin,
                      @JsonProperty("tokens_per_s_max") double tokensPerSMax,
                      @JsonProperty("bytes_per_token") long bytesPerToken,
                      @JsonProperty("bandwidth_gb_s") double bandwidthGBps,
                      @JsonProperty("floor_tokens_per_s") double floorTokensPerS,
                      @JsonProperty("floor_fraction") double floorFraction,
                      double gflops) {}

    /** The machine the rows were measured on; {@code tornado}: the TornadoVM devices are listed too. */
    public static Map<String, Object> machine(boolean tornado) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuName());
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("memory_gb", Math.round(totalMemoryGb() * 10) / 10.0);
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("jdk", System.getProperty("java.vm.name") + " " + Runtime.version());
        m.put("vector_bits", jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        m.put("tornadovm", tornado ? tornadoDevices() : "not used (java backend)");
        return m;
    }

    private static String tornadoDevices() {
        try {
            return String.join("; ", Backends.tornadoDevices());
        } catch (ModelException e) {
            return "unknown: " + e.getMessage();
        }
    }

    /** Runs pp and tg tests for one model and thread count. */
    public static List<Row> run(Model model, String name, int threads, int p, int n, int reps, double bandwidth) {
        return run(model, name, threads, p, n, reps, bandwidth, Backends.Choice.java(), null);
    }

    /** Runs pp and tg tests for one model, thread count and backend. */
    public static List<Row> run(Model model, String name, int threads, int p, int n, int reps, double bandwidth,
                                Backends.Choice backend, PrintWriter log) {
        List<Row> rows = new ArrayList<>();
        long bytes = model.weights().bytesPerToken();
        // decode runs every matrix once per token; prefill runs the lm_head for the last position only
        long lmHead = model.weights().lmHead().numel(), layers = matrixParams(model);
        long flopsPerToken = 2L * (layers + lmHead);
        String dtype = dtypeOf(model);
        boolean cpu = backend.backend().equals("java");
        String device = cpu ? "CPU (" + cpuName() + ")" : "TornadoVM " + (backend.device() == null ? "default device" : backend.device());
        int V = model.config().vocabSize();
        SplittableRandom rnd = new SplittableRandom(42);
        // one forward pass for both tests (a TornadoVM one uploads the weights when it opens), sized for the longer
        try (Parallel par = new Parallel(threads); ForwardPass f = Backends.open(backend, model, Math.max(p, n + 1), par, log)) {
            if (p > 0) {
                int[] prompt = new int[p];
                for (int i = 0; i < p; i++) prompt[i] = 4 + rnd.nextInt(Math.max(1, V - 4));
                double[] tps = new double[reps];
                for (int r = -1; r < reps; r++) {
                    long t0 = System.nanoTime();
                    f.forward(prompt, 0, false);
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (r >= 0) tps[r] = p / s;
                }
                rows.add(row(name, dtype, backend.backend(), device, threads, "pp" + p, tps, bytes, bandwidth,
                        bandwidth * 1e9 * p / bytes, 2L * layers + 2L * lmHead / p));
            }
            if (n > 0) {
                double[] tps = new double[reps];
                for (int r = -1; r < reps; r++) {
                    float[] logits = f.forward(new int[]{model.config().bosId()}, 0, false);
                    long t0 = System.nanoTime();
                    for (int i = 0; i < n; i++) logits = f.forward(new int[]{Sampler.argmax(logits)}, i + 1, false);
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (r >= 0) tps[r] = n / s;
                }
                rows.add(row(name, dtype, backend.backend(), device, threads, "tg" + n, tps, bytes, bandwidth,
                        bandwidth * 1e9 / bytes, flopsPerToken));
            }
        }
        return rows;
    }

    /**
     * One kind of weight matrix in a decode step: name with layer numbers as {@code #}, dtype, shape, how many per
     * token, the mean time of one matrix-vector product over the timed passes, and its rate.
     */
    public record MatrixRow(String matrix, String dtype, long rows, long cols, int perToken,
                            @JsonProperty("us_each") double usEach,
                            @JsonProperty("gb_s") double gbPerS,
                            @JsonProperty("ms_per_token") double msPerToken) {}

    /**
     * Times the decode product ({@code MatMul}, one token) of every weight matrix of the model, layer by layer in
     * model order as decode runs them, {@code passes} times after one warm-up pass, and sums per kind: where a
     * token's time goes on the CPU path, and which matrices stream below the bandwidth the others reach.
     */
    public static List<MatrixRow> matrices(Model model, int threads, int passes) {
        Weights w = model.weights();
        List<Tensor> all = new ArrayList<>();
        for (Weights.Layer l : w.layers()) all.addAll(l.matrices());
        all.add(w.lmHead());
        int maxCols = 0, maxRows = 0;
        for (Tensor t : all) {
            maxCols = Math.max(maxCols, t.cols());
            maxRows = Math.max(maxRows, t.rows());
        }
        float[] x = new float[maxCols], y = new float[maxRows];
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        record Kind(String matrix, DType dtype, long rows, long cols) {}
        Map<Kind, double[]> sums = new LinkedHashMap<>();   // kind -> {nanoseconds, bytes, count}
        try (Parallel par = new Parallel(threads)) {
            for (int pass = -1; pass < passes; pass++) {
                for (Tensor t : all) {
                    long t0 = System.nanoTime();
                    MatMul.matMul(t, x, 1, y, par);
                    long ns = System.nanoTime() - t0;
                    if (pass < 0) continue;
                    double[] v = sums.computeIfAbsent(new Kind(t.name().replaceAll("\\d+", "#"), t.dtype(), t.rows(), t.cols()),
                            k -> new double[3]);
                    v[0] += ns;
                    v[1] += t.data().byteSize();
                    v[2]++;
                }
            }
        }
        List<MatrixRow> rows = new ArrayList<>();
        sums.forEach((k, v) -> rows.add(new MatrixRow(k.matrix(), k.dtype().name(), k.rows(), k.cols(), (int) (v[2] / passes),
                v[0] / v[2] / 1e3, v[1] / v[0], v[0] / passes / 1e6)));
        return rows;
    }

    private static Row row(String model, String dtype, String backend, String device, int threads, String test, double[] tps,
                           long bytes, double bw, double floor, long flopsPerToken) {
        double[] s = tps.clone();
        Arrays.sort(s);
        double med = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        return new Row(model, dtype, backend, device, threads, test, med, s[0], s[s.length - 1], bytes, bw, floor,
                med / floor, med * flopsPerToken / 1e9);
    }

    /** Weight parameters of the layers' matrix products (every 2-D tensor but the embedding table and lm_head). */
    static long matrixParams(Model m) {
        long n = 0;
        for (var e : m.tensors().entrySet()) {
            Tensor t = e.getValue();
            String k = e.getKey();
            if (t.shape().length == 2 && !k.equals("model.embed_tokens.weight") && !k.equals("lm_head.weight")) n += t.numel();
        }
        return n;
    }

    /** The dtype of the model's largest per-layer matrices (e.g. "Q8_0"; "Q4_K+Q6_K" for mixed files). */
    static String dtypeOf(Model m) {
        Map<DType, Long> bytes = new LinkedHashMap<>();
        for (var e : m.tensors().entrySet()) {
            if (e.getKey().startsWith("model.layers.") && e.getValue().shape().length == 2) {
                bytes.merge(e.getValue().dtype(), e.getValue().data().byteSize(), Long::sum);
            }
        }
        return bytes.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                .map(e -> e.getKey().name()).reduce((a, b) -> a + "+" + b).orElse("?");
    }

    static String cpuName() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (Exception ignored) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }

    static double totalMemoryGb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0 / 1024.0;
            }
        } catch (Exception ignored) {
            // not Linux
        }
        return 0;
    }

    /** Memory bandwidth for the given thread count, measured now (best of 5 reads of 1 GiB). */
    public static double bandwidth(int threads) {
        try (Parallel par = new Parallel(threads)) {
            return Bandwidth.readGBps(par, 1024, 5);
        }
    }
}
