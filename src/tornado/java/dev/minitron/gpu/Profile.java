package dev.minitron.gpu;

import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code --profile} table: TornadoVM's own per-task kernel times and per-graph transfer times, summed over
 * every execution after the warm-up, with the tasks of all layers folded into one row each
 * ({@code layer_*.ffn_up}).
 *
 * <p>Source: with {@code ProfilerMode.SILENT} TornadoVM appends one JSON-like record per graph execution to a log
 * ({@code getProfileLog()}); its times are nanoseconds. The records are read line by line (TornadoVM's writer
 * sometimes leaves a trailing comma, so this is not a JSON parser). The log grows with every execution, which is
 * why profiling is opt-in.
 */
final class Profile {
    /** Any result of the plan: its profiler reads the logs of the plan's currently selected graphs. */
    TornadoExecutionResult anyResult;
    private final List<String> taskOrder;

    /** @param taskOrder row order of the table (task names with layers folded into {@code layer_*}) */
    Profile(List<String> taskOrder) {
        this.taskOrder = taskOrder;
    }

    private static final Pattern OPEN = Pattern.compile("^\\s*\"([^\"]+)\": \\{\\s*$");
    private static final Pattern VALUE = Pattern.compile("^\\s*\"([^\"]+)\": \"([^\"]*)\",?\\s*$");

    /** One graph execution's record: graph-level values and, per task, its values. */
    record Record(String graph, Map<String, String> values, Map<String, Map<String, String>> tasks) {
        long get(String key) {
            return parse(values.get(key));
        }
    }

    /** Task row of the table. */
    private static final class Row {
        String method = "";
        long calls, kernelNs;
    }

    void print(TornadoExecutionPlan plan, PrintWriter log) {
        if (anyResult == null) return;
        plan.withAllGraphs();
        List<Record> records = parseLog(anyResult.getProfilerResult().getProfileLog());
        Map<String, Row> rows = new LinkedHashMap<>();
        for (String task : taskOrder) rows.put(task, new Row());
        Map<String, Integer> seen = new HashMap<>();
        long graphNs = 0, kernelNs = 0, copyInNs = 0, copyInBytes = 0, copyOutNs = 0, copyOutBytes = 0, copyOuts = 0, executions = 0;
        for (Record r : records) {
            if (!r.values().containsKey("TOTAL_TASK_GRAPH_TIME")) { // an on-demand copy back (logits or argmax)
                if (seen.getOrDefault(r.graph(), 0) < 2) continue;       // the warm-up's
                copyOutNs += r.get("COPY_OUT_TIME_SYNC");
                copyOutBytes += r.get("COPY_OUT_SIZE_BYTES_SYNC");
                copyOuts++;
                continue;
            }
            if (seen.merge(r.graph(), 1, Integer::sum) == 1) continue; // the warm-up: JIT compilation and weight upload
            executions++;
            graphNs += r.get("TOTAL_TASK_GRAPH_TIME");
            kernelNs += r.get("TOTAL_KERNEL_TIME");
            copyInNs += r.get("COPY_IN_TIME");
            copyInBytes += r.get("TOTAL_COPY_IN_SIZE_BYTES");
            for (var t : r.tasks().entrySet()) {
                Row row = rows.computeIfAbsent(Graphs.row(t.getKey()), k -> new Row());
                row.method = t.getValue().getOrDefault("METHOD", "");
                row.calls++;
                row.kernelNs += parse(t.getValue().get("TASK_KERNEL_TIME"));
            }
        }
        log.printf(Locale.ROOT, "tornado profile: %d graph executions after the warm-up (TornadoVM profiler; layer tasks summed over all layers)%n", executions);
        log.printf(Locale.ROOT, "  %-26s %-24s %7s %10s %10s %6s%n", "task", "kernel", "calls", "mean us", "total ms", "share");
        for (var e : rows.entrySet()) {
            Row r = e.getValue();
            log.printf(Locale.ROOT, "  %-26s %-24s %7d %10.1f %10.2f %5.1f%%%n", e.getKey(), r.method, r.calls,
                    r.calls == 0 ? 0 : r.kernelNs / 1e3 / r.calls, r.kernelNs / 1e6, 100.0 * r.kernelNs / Math.max(1, graphNs));
        }
        long other = graphNs - kernelNs - copyInNs;
        log.printf(Locale.ROOT, "  %-51s %10s %10.2f %5.1f%%%n", "kernels", "", kernelNs / 1e6, 100.0 * kernelNs / Math.max(1, graphNs));
        log.printf(Locale.ROOT, "  %-51s %10s %10.2f %5.1f%%%n", "copy in: batch descriptor (" + copyInBytes + " B)", "", copyInNs / 1e6,
                100.0 * copyInNs / Math.max(1, graphNs));
        log.printf(Locale.ROOT, "  %-51s %10s %10.2f %5.1f%%%n", "graph overhead: launches, syncs, TornadoVM bookkeeping", "", other / 1e6,
                100.0 * other / Math.max(1, graphNs));
        log.printf(Locale.ROOT, "  %-51s %10s %10.2f%n", "copy out: logits / argmax (" + copyOuts + " copies, " + copyOutBytes + " B)", "",
                copyOutNs / 1e6);
    }

    /** Splits TornadoVM's profile log into per-execution records. */
    static List<Record> parseLog(String log) {
        List<Record> out = new ArrayList<>();
        Record current = null;
        Map<String, String> task = null;
        int depth = 0;
        for (String line : log.split("\n")) {
            String s = line.strip();
            Matcher open = OPEN.matcher(line), value = VALUE.matcher(line);
            if (s.equals("{")) {
                depth = 1;
                current = null;
            } else if (open.matches()) {
                depth++;
                if (depth == 2) {
                    current = new Record(open.group(1), new LinkedHashMap<>(), new LinkedHashMap<>());
                    out.add(current);
                } else if (depth == 3 && current != null) {
                    task = new LinkedHashMap<>();
                    current.tasks().put(open.group(1), task);
                }
            } else if (value.matches() && current != null) {
                (depth == 3 && task != null ? task : current.values()).put(value.group(1), value.group(2));
            } else if (s.startsWith("}")) {
                depth--;
                if (depth < 3) task = null;
            }
        }
        return out;
    }

    private static long parse(String v) {
        if (v == null) return 0;
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
