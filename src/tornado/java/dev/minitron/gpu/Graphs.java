package dev.minitron.gpu;

import dev.minitron.gpu.kernels.Argmax;
import dev.minitron.gpu.kernels.Attention;
import dev.minitron.gpu.kernels.Batch;
import dev.minitron.gpu.kernels.Ffn;
import dev.minitron.gpu.kernels.Groups;
import dev.minitron.gpu.kernels.MatVec;
import dev.minitron.gpu.kernels.Norm;
import dev.minitron.model.Config;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Builds the task graphs of one model, in execution order: {@code embedding}, {@code layer_0 .. layer_{L-1}},
 * {@code output} (the data flow is drawn on {@link TornadoForward}), and the worker grid of every task.
 *
 * <p>Device residency: TornadoVM hands a buffer from one graph to the next when the first
 * {@code persistOnDevice}s it and the next {@code consumeFromDevice}s it by the first's name; it looks the buffer
 * up in the graph that ran last, so the shared buffers travel down the chain, every graph passing them on. The
 * residual stream and the batch descriptor start in {@code embedding}; the layer scratch and rotary tables start
 * in {@code layer_0} (its first run allocates and uploads them). Each layer's weights, 16-bit scale tables and KV
 * cache belong to that layer's graph alone (uploaded on its first execution, then kept). An opt-in layout puts the
 * embedding and all layers into one graph ({@link #allLayers}).
 */
final class Graphs {
    static final String EMBEDDING = "embedding", OUTPUT = "output", LAYERS = "layers";

    static String layer(int l) {
        return "layer_" + l;
    }

    final List<ImmutableTaskGraph> graphs = new ArrayList<>();
    final GridScheduler grid = new GridScheduler();
    /** Task names in execution order, layers folded into {@code layer_*} (the profiler table's row order). */
    final List<String> taskOrder = new ArrayList<>();
    private final Config c;
    private final Buffers b;
    private final boolean cpu;
    private final int context;
    /** Non-null: the norms, attention and projections use the {@link Groups} kernels. */
    private final KernelContext kc;

    Graphs(Config c, DeviceWeights w, Buffers b, int context, boolean cpu, boolean groups, boolean merged) {
        this.c = c;
        this.b = b;
        this.cpu = cpu;
        this.context = context;
        this.kc = groups ? new KernelContext() : null;
        if (merged) {
            graphs.add(allLayers(w).snapshot());
            graphs.add(output(w, LAYERS).snapshot());
        } else {
            graphs.add(embedding(w).snapshot());
            for (int l = 0; l < c.numLayers(); l++) graphs.add(layer(l, w.layers()[l]).snapshot());
            graphs.add(output(w, layer(c.numLayers() - 1)).snapshot());
        }
    }

    /**
     * The merged layout ({@code -Dminitron.gpu.graphs=merged}): the embedding and every layer in one graph,
     * {@code layers}, whose tasks are named {@code embedding_embed}, {@code layer_3_attn_norm}, ...; then
     * {@code output}. Two graph executions per token instead of L + 2: TornadoVM's cost per execution (a sync,
     * its bookkeeping, with the profiler on a JSON record) is paid twice. All uploads come first, so that the
     * graph's own buffers are listed before the two it shares with {@code output} (see TornadoForward#close).
     */
    private TaskGraph allLayers(DeviceWeights w) {
        TaskGraph g = new TaskGraph(LAYERS);
        DeviceMatrix.Scales s = DeviceMatrix.Scales.create();
        Set<Object> seen = newSeen();
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, upload(seen, s, w.embed()));
        for (int l = 0; l < c.numLayers(); l++) uploadLayer(g, l, w.layers()[l], s, seen);
        if (c.rotaryDim() > 0) g.transferToDevice(DataTransferMode.FIRST_EXECUTION, b.cos, b.sin);
        g.transferToDevice(DataTransferMode.EVERY_EXECUTION, b.batch);
        w.embed().embed(g, "embedding_embed", s, b.batch, b.x);
        grid(LAYERS, "embedding_embed", c.hiddenSize());
        for (int l = 0; l < c.numLayers(); l++) layerTasks(g, LAYERS, layer(l) + "_", l, w.layers()[l], s);
        return g.persistOnDevice(b.x, b.batch);
    }

    /**
     * The profiler table's row of task {@code graph.task}: each layer's tasks fold into one row ({@code layer_3.ffn_up}
     * and, merged, {@code layers.layer_3_ffn_up} into {@code layer_*.ffn_up}; {@code layers.embedding_embed} into
     * {@code embedding.embed}).
     */
    static String row(String task) {
        return task.replaceFirst("^(layer_\\d+\\.|layers\\.layer_\\d+_)", "layer_*.").replaceFirst("^layers\\.embedding_", EMBEDDING + ".");
    }

    /** embedding: token ids in, x = embed[ids]. The batch descriptor is the only per-call upload. */
    private TaskGraph embedding(DeviceWeights w) {
        DeviceMatrix.Scales s = DeviceMatrix.Scales.create();
        TaskGraph g = new TaskGraph(EMBEDDING) // own buffers first: see TornadoForward#close
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, upload(newSeen(), s, w.embed()))
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, b.batch);
        w.embed().embed(g, "embed", s, b.batch, b.x);
        grid(EMBEDDING, "embed", c.hiddenSize());
        return g.persistOnDevice(b.x, b.batch);
    }

    /** layer_l: x += o_proj(attention(rope(q, k), v)); x += down(relu(up(norm(x)))^2). */
    private TaskGraph layer(int l, DeviceWeights.Layer w) {
        String name = layer(l);
        Object[] scratch = layerScratch();
        TaskGraph g = new TaskGraph(name);
        DeviceMatrix.Scales s = DeviceMatrix.Scales.create();
        uploadLayer(g, l, w, s, newSeen());
        if (l == 0) {
            g.consumeFromDevice(EMBEDDING, b.x, b.batch);
            // after this graph's own uploads: shared buffers come last (see TornadoForward#close)
            if (c.rotaryDim() > 0) g.transferToDevice(DataTransferMode.FIRST_EXECUTION, b.cos, b.sin);
        } else {
            g.consumeFromDevice(layer(l - 1), concat(new Object[]{b.x, b.batch}, scratch));
        }
        layerTasks(g, name, "", l, w, s);
        return g.persistOnDevice(concat(new Object[]{b.x, b.batch}, scratch));
    }

    /** Layer {@code l}'s own buffers, uploaded on the first execution: norms, biases, its KV cache, its matrices. */
    private void uploadLayer(TaskGraph g, int l, DeviceWeights.Layer w, DeviceMatrix.Scales s, Set<Object> seen) {
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, present(w.attnGamma(), w.attnBeta(), w.ffnGamma(), w.ffnBeta(),
                w.qBias(), w.kBias(), w.vBias(), w.oBias(), w.upBias(), w.downBias(), b.keyCache[l], b.valueCache[l]));
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, upload(seen, s, w.q(), w.k(), w.v(), w.o(), w.up(), w.down()));
    }

    /** Layer {@code l}'s tasks, added to {@code g} (named {@code graph}) as {@code prefix + "attn_norm"}, ... */
    private void layerTasks(TaskGraph g, String name, String p, int l, DeviceWeights.Layer w, DeviceMatrix.Scales s) {
        int T = b.maxTokens;
        // attention block
        norm(g, name, p + "attn_norm", b.h, w.attnGamma(), w.attnBeta(), 0);
        projection(g, name, p + "q_proj", w.q(), s, b.h, b.q, w.qBias(), MatVec.OVERWRITE);
        projection(g, name, p + "k_proj", w.k(), s, b.h, b.k, w.kBias(), MatVec.OVERWRITE);
        projection(g, name, p + "v_proj", w.v(), s, b.h, b.v, w.vBias(), MatVec.OVERWRITE);
        if (c.rotaryDim() > 0) {
            withGrid(g, name, p + "rope", (c.numHeads() + c.numKvHeads()) * (c.rotaryDim() / 2)).task(p + "rope", Attention::rope,
                    b.q, b.k, b.cos, b.sin, b.batch, c.numHeads(), c.numKvHeads(), c.headDim(), c.rotaryDim());
        }
        withGrid(g, name, p + "kv_cache", c.kvDim()).task(p + "kv_cache", Attention::writeKvCache, b.k, b.v, b.keyCache[l], b.valueCache[l],
                b.batch, c.kvDim());
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        if (kc != null) {
            groupGrid(name, p + "attention", T * c.numHeads());
            g.task(p + "attention", Groups::attention, kc, b.q, b.keyCache[l], b.valueCache[l], b.scores, b.att, b.batch,
                    c.numHeads(), c.groupSize(), c.headDim(), c.kvDim(), context, scale);
        } else {
            withGrid(g, name, p + "attention", T * c.numHeads()).task(p + "attention", Attention::attention, b.q, b.keyCache[l],
                    b.valueCache[l], b.scores, b.att, b.batch, c.numHeads(), c.groupSize(), c.headDim(), c.kvDim(), context, T, scale);
        }
        projection(g, name, p + "attn_output", w.o(), s, b.att, b.x, w.oBias(), MatVec.ACCUMULATE);
        // MLP block
        norm(g, name, p + "ffn_norm", b.h, w.ffnGamma(), w.ffnBeta(), 0);
        if (w.upBias() == null) { // relu(up(x))^2 in the projection's store: one kernel, one pass over the activations
            projection(g, name, p + "ffn_up", w.up(), s, b.h, b.up, null, MatVec.SQUARED_RELU);
        } else {                  // the bias comes before the activation
            projection(g, name, p + "ffn_up", w.up(), s, b.h, b.up, w.upBias(), MatVec.OVERWRITE);
            withGrid(g, name, p + "ffn_relu2", c.intermediateSize()).task(p + "ffn_relu2", Ffn::squaredRelu, b.up, b.batch,
                    c.intermediateSize());
        }
        projection(g, name, p + "ffn_down", w.down(), s, b.up, b.x, w.downBias(), MatVec.ACCUMULATE);
    }

    /** output: logits = lm_head(LN1p(x)) for the last OUT_COUNT rows, and the argmax of the last row. */
    private TaskGraph output(DeviceWeights w, String from) {
        DeviceMatrix.Scales s = DeviceMatrix.Scales.create();
        TaskGraph g = new TaskGraph(OUTPUT)
                .consumeFromDevice(from, b.x, b.batch)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, w.outGamma(), w.outBeta())
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, upload(newSeen(), s, w.lmHead()));
        norm(g, OUTPUT, "norm", b.normed, w.outGamma(), w.outBeta(), 1);
        matVec(g, OUTPUT, "lm_head", w.lmHead(), s, b.normed, b.logits, Batch.OUT_COUNT, MatVec.OVERWRITE);
        withGrid(g, OUTPUT, "argmax_partial", Buffers.ARGMAX_CHUNKS).task("argmax_partial", Argmax::argmaxPartial, b.logits, b.batch,
                b.bestValue, b.bestIndex, c.vocabSize(), Buffers.ARGMAX_CHUNKS);
        g.task("argmax", Argmax::argmaxFinal, b.bestValue, b.bestIndex, b.argmax, Buffers.ARGMAX_CHUNKS); // one work-item: no grid
        taskOrder.add(OUTPUT + ".argmax");
        return g.transferToHost(DataTransferMode.UNDER_DEMAND, b.logits, b.argmax);
    }

    /** y (mode)= W x, then + bias if the checkpoint has one (with the residual form the bias goes straight into x). */
    private void projection(TaskGraph g, String graph, String id, DeviceMatrix w, DeviceMatrix.Scales s, FloatArray x, FloatArray y,
                            FloatArray bias, int mode) {
        matVec(g, graph, id, w, s, x, y, Batch.COUNT, mode);
        if (bias != null) {
            withGrid(g, graph, id + "_bias", w.rows).task(id + "_bias", Ffn::addBias, y, bias, b.batch, w.rows);
        }
    }

    /** LayerNorm1P of x into {@code out} (all rows, or with {@code lastRowsOnly} the last OUT_COUNT rows). */
    private void norm(TaskGraph g, String graph, String id, FloatArray out, FloatArray gamma, FloatArray beta, int lastRowsOnly) {
        int T = b.maxTokens;
        if (kc != null) {
            groupGrid(graph, id, T);
            g.task(id, Groups::layerNorm1p, kc, b.x, out, gamma, beta, b.batch, c.hiddenSize(), c.normEps(), lastRowsOnly);
        } else {
            withGrid(g, graph, id, T).task(id, Norm::layerNorm1p, b.x, out, gamma, beta, b.batch, c.hiddenSize(), c.normEps(), T, lastRowsOnly);
        }
    }

    /** y (mode)= W x for the token rows in batch[countSlot] ({@link MatVec#store}), with the work-group kernel when kc is set. */
    private void matVec(TaskGraph g, String graph, String id, DeviceMatrix w, DeviceMatrix.Scales s, FloatArray x, FloatArray y,
                        int countSlot, int mode) {
        if (kc != null) {
            groupGrid(graph, id, w.rows);
            w.matVecGroups(g, id, kc, s, x, y, b.batch, countSlot, mode);
        } else {
            withGrid(g, graph, id, w.rows);
            w.matVec(g, id, s, x, y, b.batch, countSlot, mode);
        }
    }

    /** Registers the grid of a {@link Groups} task: {@code groups} work-groups of {@link Groups#GROUP} work-items. */
    private void groupGrid(String graph, String id, int groups) {
        WorkerGrid1D grid1 = new WorkerGrid1D(groups * Groups.GROUP);
        grid1.setLocalWork(Groups.GROUP, 1, 1);
        addGrid(graph, id, grid1);
    }

    /** Registers the worker grid of task {@code id} (one work-item per item) and returns the graph. */
    private TaskGraph withGrid(TaskGraph g, String graph, String id, int items) {
        grid(graph, id, items);
        return g;
    }

    private void grid(String graph, String id, int items) {
        addGrid(graph, id, Grids.worker(items, cpu));
    }

    private void addGrid(String graph, String id, WorkerGrid wg) {
        grid.addWorkerGrid(graph + "." + id, wg);
        String row = row(graph + "." + id);
        if (!taskOrder.contains(row)) taskOrder.add(row);
    }

    /** The buffers that layer_0 creates and every later layer consumes. */
    private Object[] layerScratch() {
        List<Object> l = new ArrayList<>(List.of(b.h, b.q, b.k, b.v, b.att, b.up, b.scores));
        if (c.rotaryDim() > 0) l.addAll(List.of(b.cos, b.sin));
        return l.toArray();
    }

    /** The matrices' data plus the scale tables their decoders need, less what {@code seen} already holds. */
    private static Object[] upload(Set<Object> seen, DeviceMatrix.Scales s, DeviceMatrix... ms) {
        List<Object> l = new ArrayList<>();
        for (DeviceMatrix m : ms) {
            if (seen.add(m.data)) l.add(m.data);
            FloatArray t = m.scaleTable(s);
            if (t != null && seen.add(t)) l.add(t);
        }
        return l.toArray();
    }

    private static Set<Object> newSeen() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }

    private static Object[] present(Object... objects) {
        return Arrays.stream(objects).filter(o -> o != null).toArray();
    }

    private static Object[] concat(Object[] a, Object[] b) {
        Object[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
