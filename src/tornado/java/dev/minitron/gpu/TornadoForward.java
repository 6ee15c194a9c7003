package dev.minitron.gpu;

import dev.minitron.engine.ForwardPass;
import dev.minitron.gpu.kernels.Batch;
import dev.minitron.io.ModelException;
import dev.minitron.model.Config;
import dev.minitron.model.Model;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.exceptions.TornadoInternalError;

import java.io.PrintWriter;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Locale;

/**
 * The NemotronForCausalLM forward pass on a TornadoVM device (GPU through PTX/OpenCL, or a CPU through PoCL).
 * Every step of {@link dev.minitron.engine.Forward} (the CPU reference) is a small Java kernel in
 * {@link dev.minitron.gpu.kernels} that TornadoVM compiles at run time; the kernels are grouped into one task
 * graph per layer, and weights, KV cache and activations stay on the device. Per call only the batch descriptor
 * (position, token count, token ids) goes in, and only the logits, or the greedy token id, come out:
 *
 * <pre>
 *  host                        device: task graphs, executed in this order for each chunk of up to 16 tokens
 *  ────                        ─────────────────────────────────────────────────────────────────────────────
 *  batch {pos, T, outCount,    embedding    embed: x[t] = embed[id_t]
 *         ids[T]} ───────────▶     │  x, batch
 *                                  ▼
 *                              layer_0      attn_norm ─▶ q_proj, k_proj, v_proj ─▶ rope ─▶ kv_cache ─▶ attention
 *                                  │        ─▶ attn_output (x += o_proj) ─▶ ffn_norm ─▶ ffn_up (relu(up x)^2)
 *                                  │        ─▶ ffn_down (x += down_proj)         (own: weights, K/V cache of layer 0)
 *                                  │  x, batch, scratch (h q k v att up scores), cos/sin
 *                                  ▼
 *                              layer_1 … layer_{L-1}   (same tasks; each consumes from the one before)
 *                                  │  x, batch
 *                                  ▼
 *                              output       norm (last outCount rows) ─▶ lm_head ─▶ argmax_partial ─▶ argmax
 *  logits[outCount, V] ◀──────     (copied on demand: the logits rows needed, or just the argmax id)
 *  or argmax id        ◀──────
 * </pre>
 *
 * Task names are {@code graph.task}, e.g. {@code layer_3.attention}, {@code layer_3.ffn_up}; they key the worker
 * grids and the profiler table. Weights stay in their file's dtype on the device (F32, BF16, F16 as raw 16-bit
 * words, Q8_0, Q4_K and Q6_K as raw blocks) and are uploaded once, on the first execution, which {@link #open}
 * runs as a warm-up together with the JIT compilation (timed and reported apart from inference).
 *
 * <p>Prefill runs the prompt through the same graphs in chunks of up to {@value #CHUNK} tokens: every kernel
 * loops over the chunk's tokens ({@code T} from the batch descriptor), so a weight row is read from device memory
 * once per chunk rather than once per token. Decoding is the same with {@code T = 1}.
 */
public final class TornadoForward implements ForwardPass {
    /** Tokens per device call (prefill chunk); the buffers are sized for it. */
    static final int CHUNK = 16;

    private final Config c;
    private final int context;
    private final Buffers b;
    private final TornadoExecutionPlan plan;
    private final int graphCount;
    private final PrintWriter log;
    private final Profile profile;
    private final String deviceName;
    private boolean closed;

    private TornadoForward(Config c, int context, Buffers b, TornadoExecutionPlan plan, int graphCount, Profile profile,
                           String deviceName, PrintWriter log) {
        this.c = c;
        this.context = context;
        this.b = b;
        this.plan = plan;
        this.graphCount = graphCount;
        this.profile = profile;
        this.deviceName = deviceName;
        this.log = log;
    }

    /**
     * Uploads the model to TornadoVM device {@code device} ({@code "B:D"}, or the default device when null),
     * compiles the kernels and runs one warm-up token. Throws {@link ModelException} when a weight dtype has no
     * kernel, when the model does not fit the device memory, or when a kernel does not compile. The weights are
     * first copied from the mapped file into off-heap TornadoVM arrays (bytes unchanged), which stay referenced by
     * the graphs: on the host they take their size once more, besides the page cache of the file.
     */
    public static ForwardPass open(Model m, int context, String device, boolean profile, PrintWriter log) {
        Config c = m.config();
        if (context < 1) throw new ModelException("--backend tornado: context must be >= 1, got " + context);
        TornadoDevice dev = Devices.find(device);
        DeviceWeights.checkSupported(m.weights());
        int chunk = Math.min(CHUNK, context);
        MemoryCheck.check(m, context, chunk, dev);

        long t0 = System.nanoTime();
        DeviceWeights w = DeviceWeights.upload(m.weights());
        Buffers b = new Buffers(c, context, chunk);
        boolean groups = groupKernels(dev), merged = mergedGraphs();
        Graphs g = new Graphs(c, w, b, context, Devices.isCpu(dev), groups, merged);
        TornadoExecutionPlan plan = new TornadoExecutionPlan(g.graphs.toArray(new ImmutableTaskGraph[0]));
        plan.withDevice(dev).withGridScheduler(g.grid);
        if (profile) plan.withProfiler(ProfilerMode.SILENT);
        boolean cudaGraphs = cudaGraphs(dev, profile);
        if (cudaGraphs) plan.withCUDAGraph();
        TornadoForward f = new TornadoForward(c, context, b, plan, g.graphs.size(), profile ? new Profile(g.taskOrder) : null,
                Devices.describe(dev), log);
        long t1 = System.nanoTime();
        try { // the first execution compiles every kernel and uploads the weights
            QuietStdout.run(() -> f.forward(new int[]{Math.max(0, Math.min(c.bosId(), c.vocabSize() - 1))}, 0, false));
        } catch (RuntimeException e) {
            f.close();
            // with bailouts disabled, a kernel TornadoVM cannot compile fails here instead of silently running in Java
            throw new ModelException("--backend tornado: the kernels failed on " + f.deviceName + ": " + describe(e), e);
        }
        long t2 = System.nanoTime();
        log.printf(Locale.ROOT, "tornado: %s; %d task graphs, %d tasks (%s kernels%s); copy weights %.0f ms, JIT compile + upload + warm-up %.0f ms (not counted as inference)%n",
                f.deviceName, g.graphs.size(), g.grid.keySet().size() + 1, groups ? "work-group" : "one-row loop", cudaGraphs ? ", CUDA graphs" : "",
                (t1 - t0) / 1e6, (t2 - t1) / 1e6);
        log.flush();
        return f;
    }

    /**
     * Whether to capture each task graph as a CUDA graph on its first execution and replay it afterwards (one launch
     * per graph instead of one per kernel). Property {@value #CUDA_GRAPH}: {@code off} (default) or {@code on} (PTX
     * backend only, the one TornadoVM supports it on; not with {@code --profile}, whose per-task timings a replayed
     * graph does not give). Off by default because on an H200 with TornadoVM 5.2 the captured graphs gave wrong
     * logits on the fixtures and aborted the JVM on an 8B-shaped model (bench/README.md, "On an NVIDIA H200").
     */
    static boolean cudaGraphs(TornadoDevice dev, boolean profile) {
        if (option(CUDA_GRAPH, "off", "off", "on").equals("off")) return false;
        if (dev.getTornadoVMBackend() != TornadoVMBackendType.PTX) {
            throw new ModelException("-D" + CUDA_GRAPH + "=on: CUDA graphs need TornadoVM's PTX backend, the device is " + Devices.describe(dev));
        }
        return !profile;
    }

    static final String CUDA_GRAPH = "minitron.cudaGraph";

    /**
     * Whether the norms, attention and projections use the work-group kernels of {@code kernels.Groups} or the
     * one-work-item-per-row loops. Property {@value #KERNELS}: {@code auto} (default: work-groups on GPUs and other
     * accelerators, loops on CPU devices such as PoCL, where each wins), {@code groups}, {@code loops}.
     */
    static boolean groupKernels(TornadoDevice dev) {
        return switch (option(KERNELS, "auto", "auto", "groups", "loops")) {
            case "auto" -> !Devices.isCpu(dev);
            case "groups" -> true;
            default -> false;
        };
    }

    static final String KERNELS = "minitron.gpu.kernels";

    /**
     * The task-graph layout. Property {@value #GRAPHS}: {@code layers} (default: one graph per layer, the layout
     * checked on the H200) or {@code merged} (the embedding and all layers in one graph, see {@code Graphs#allLayers};
     * an experiment against TornadoVM's per-graph cost, tested on PoCL only).
     */
    static boolean mergedGraphs() {
        return option(GRAPHS, "layers", "layers", "merged").equals("merged");
    }

    static final String GRAPHS = "minitron.gpu.graphs";

    /** System property {@code name} ({@code dflt} when unset), one of {@code allowed}; anything else is a one-line error. */
    private static String option(String name, String dflt, String... allowed) {
        String v = System.getProperty(name, dflt);
        if (!List.of(allowed).contains(v)) throw new ModelException("-D" + name + "=" + v + ": expected " + String.join(", ", allowed));
        return v;
    }

    /** The start of TornadoVM's message (its first two lines name the failing task), without terminal colours. */
    private static String describe(Throwable e) {
        String m = String.valueOf(e.getMessage()).replaceAll("\u001B\\[[0-9;]*m", "");
        String start = String.join(" ", m.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.equals("null")).limit(2).toList());
        return start.isEmpty() ? e.getClass().getSimpleName() : start;
    }

    /** See {@code dev.minitron.gpu.Devices#bandwidthGBps}. */
    public static double bandwidthGBps(String device) {
        return Devices.bandwidthGBps(device);
    }

    /** One line per TornadoVM device: {@code "B:D  name  (backend, global memory GB)"}. */
    public static List<String> devices() {
        return Devices.list();
    }

    @Override
    public float[] forward(int[] tokens, int pos, boolean allPositions) {
        int T = tokens.length, V = c.vocabSize();
        check(tokens, pos);
        float[] logits = new float[allPositions ? T * V : V];
        for (int from = 0; from < T; from += b.maxTokens) {
            int n = Math.min(b.maxTokens, T - from);
            boolean last = from + n == T;
            if (!allPositions && !last) {
                run(tokens, from, n, pos + from, 0);
                continue;
            }
            int outRows = allPositions ? n : 1;
            TornadoExecutionResult r = run(tokens, from, n, pos + from, outRows);
            r.transferToHost(new DataRange(b.logits).withSize((long) outRows * V));
            java.lang.foreign.MemorySegment.copy(b.logits.getSegment(), ValueLayout.JAVA_FLOAT, 0, logits,
                    allPositions ? from * V : 0, outRows * V);
        }
        return logits;
    }

    /**
     * Greedy decoding without moving the logits: runs {@code tokens} like {@link #forward} and returns the id of the
     * largest logit of the last position, computed on the device (4 bytes copied back instead of the vocabulary).
     */
    @Override
    public int forwardArgmax(int[] tokens, int pos) {
        int T = tokens.length;
        check(tokens, pos);
        TornadoExecutionResult r = null;
        for (int from = 0; from < T; from += b.maxTokens) {
            int n = Math.min(b.maxTokens, T - from);
            r = run(tokens, from, n, pos + from, from + n == T ? 1 : 0);
        }
        r.transferToHost(b.argmax);
        return b.argmax.get(0);
    }

    /**
     * Executes the graphs for tokens {@code [from, from + n)} at positions {@code pos ..}; the output graph runs only
     * when {@code outRows > 0} (its result is returned, else null).
     */
    private TornadoExecutionResult run(int[] tokens, int from, int n, int pos, int outRows) {
        b.batch.set(Batch.POS, pos);
        b.batch.set(Batch.COUNT, n);
        b.batch.set(Batch.OUT_COUNT, Math.max(1, outRows));
        for (int t = 0; t < n; t++) b.batch.set(Batch.TOKENS + t, tokens[from + t]);
        int graphs = outRows > 0 ? graphCount : graphCount - 1;
        TornadoExecutionResult r = null;
        for (int g = 0; g < graphs; g++) r = plan.withGraph(g).execute();
        if (profile != null) profile.anyResult = r;
        return outRows > 0 ? r : null;
    }

    private void check(int[] tokens, int pos) {
        if (closed) throw new IllegalStateException("closed");
        int T = tokens.length;
        if (T == 0) throw new IllegalArgumentException("no tokens");
        if (pos < 0 || pos + T > context) {
            throw new IllegalArgumentException("positions " + pos + ".." + (pos + T - 1) + " exceed the context of " + context);
        }
        for (int id : tokens) {
            if (id < 0 || id >= c.vocabSize()) throw new IllegalArgumentException("token id " + id + " outside the vocabulary");
        }
    }

    @Override
    public int context() {
        return context;
    }

    @Override
    public Config config() {
        return c;
    }

    /** Prints the profiler table (with {@code profile}) and frees the device memory. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (profile != null) {
                profile.print(plan, log);
                log.flush();
            }
        } finally {
            freeDeviceMemory();
        }
    }

    /**
     * Frees every graph's buffers, last graph first. TornadoVM frees everything a graph uploads or persists, so a
     * buffer passed down the chain is freed by the last graph that holds it; the earlier holders then fail on it
     * (a failed guarantee, after freeing their own weights and caches: those are listed first) and are skipped.
     * ({@code TornadoExecutionPlan.close()} would free only the graph selected last.)
     */
    private void freeDeviceMemory() {
        for (int g = graphCount - 1; g >= 0; g--) {
            try {
                plan.withGraph(g).freeDeviceMemory();
            } catch (TornadoInternalError | RuntimeException e) {
                // a shared buffer already freed by a later graph
            }
        }
    }
}
