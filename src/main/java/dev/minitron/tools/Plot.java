package dev.minitron.tools;

import dev.minitron.io.AtomicOutput;
import dev.minitron.io.ModelException;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * Charts of {@code minitron bench --csv} results: reads one or more CSV files and writes PNG charts plus a
 * short markdown summary into a folder.
 *
 * <ul>
 *   <li>{@value #DECODE_TPS}: decode (tg) tokens/s against the thread count, one line per (model, dtype, backend);</li>
 *   <li>{@value #DECODE_FLOOR}: the same as a percentage of the memory-bandwidth floor
 *       (measured bandwidth / bytes read per token, at that thread count);</li>
 *   <li>{@value #PREFILL_TPS}: prefill (pp) tokens/s against the thread count;</li>
 *   <li>{@value #DECODE_BEST}: bars of the best decode tokens/s per (model, dtype, backend) next to the floor
 *       tokens/s measured with the same thread count;</li>
 *   <li>{@value #TABLE}: that summary as a markdown table (plus the best prefill speed).</li>
 * </ul>
 *
 * Every file is written through {@link AtomicOutput} (a temporary sibling renamed onto the final name), so a
 * reader never sees half a PNG. Rendering is headless: no display is needed.
 */
public final class Plot {
    static {
        // Before any AWT class loads: charts are drawn into images only, never on a screen.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private Plot() {}

    public static final String DECODE_TPS = "decode-tokens-per-s.png";
    public static final String DECODE_FLOOR = "decode-floor-fraction.png";
    public static final String PREFILL_TPS = "prefill-tokens-per-s.png";
    public static final String DECODE_BEST = "decode-best-vs-floor.png";
    public static final String TABLE = "table.md";

    /** The columns {@code minitron bench --csv} writes, in its order. */
    public static final List<String> BENCH_COLUMNS = List.of("model", "dtype", "backend", "device", "threads", "test",
            "tokens_per_s", "tokens_per_s_min", "tokens_per_s_max", "bytes_per_token", "bandwidth_gb_s",
            "floor_tokens_per_s", "floor_fraction", "gflops");

    /** The columns a chart needs; the others are optional (NaN or -1 when absent). */
    public static final List<String> REQUIRED_COLUMNS = List.of("model", "dtype", "backend", "device", "threads", "test",
            "tokens_per_s", "floor_tokens_per_s", "floor_fraction");

    /** One CSV line. {@code bytesPerToken} is -1 and the optional doubles NaN where the column is absent. */
    public record Row(String model, String dtype, String backend, String device, int threads, String test,
                      double tokensPerS, double tokensPerSMin, double tokensPerSMax, long bytesPerToken,
                      double bandwidthGBps, double floorTokensPerS, double floorFraction, double gflops) {
        boolean decode() { return test.startsWith("tg"); }

        boolean prefill() { return test.startsWith("pp"); }
    }

    /**
     * Reads the CSV files and writes the charts and {@value #TABLE} into {@code outDir} (created if missing;
     * files of the same names are replaced). A chart whose test kind has no rows (e.g. no prefill with
     * {@code -p 0}) is not drawn.
     *
     * @return the files written, in the order listed in the class comment
     * @throws ModelException for a missing or unreadable file, a missing column, a malformed line, or no rows
     */
    public static List<Path> run(List<Path> csvs, Path outDir) {
        if (csvs == null || csvs.isEmpty()) throw new ModelException("plot: no CSV file given");
        List<Row> rows = new ArrayList<>();
        for (Path p : csvs) rows.addAll(read(p));
        if (rows.isEmpty()) throw new ModelException(String.join(", ", csvs.stream().map(Path::toString).toList())
                + ": no result rows (only a header?)");
        if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
            throw new ModelException(outDir + ": exists and is not a folder (--out takes a folder)");
        }
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw new ModelException(outDir + ": cannot create the output folder (" + e.getMessage() + ")", e);
        }

        Series s = new Series(rows);
        String devices = String.join("; ", new LinkedHashSet<>(rows.stream().map(Row::device).toList()));
        List<Path> written = new ArrayList<>();
        List<Row> tg = rows.stream().filter(Row::decode).toList();
        List<Row> pp = rows.stream().filter(Row::prefill).toList();
        if (!tg.isEmpty()) {
            String t = tests(tg);
            written.add(png(outDir.resolve(DECODE_TPS), Charts.lines(
                    "Decode speed (" + t + ") vs CPU threads", devices, "threads", "decode tokens/s (median)",
                    s.lines(tg, Row::tokensPerS), null)));
            written.add(png(outDir.resolve(DECODE_FLOOR), Charts.lines(
                    "Decode speed (" + t + ") as % of the memory-bandwidth floor", devices
                            + "  |  floor = measured memory bandwidth / weight bytes read per token, at each thread count",
                    "threads", "decode tokens/s as % of the floor", s.lines(tg, r -> 100 * r.floorFraction()), 100.0)));
        }
        if (!pp.isEmpty()) {
            written.add(png(outDir.resolve(PREFILL_TPS), Charts.lines(
                    "Prefill speed (" + tests(pp) + ") vs CPU threads", devices, "threads", "prefill tokens/s (median)",
                    s.lines(pp, Row::tokensPerS), null)));
        }
        List<Best> best = best(rows, s);
        if (!tg.isEmpty()) {
            written.add(png(outDir.resolve(DECODE_BEST), Charts.bars(
                    "Best decode speed (" + tests(tg) + ") vs the memory-bandwidth floor", devices, "decode tokens/s",
                    best.stream().filter(b -> b.tg != null).map(b -> new Charts.Bar(b.label + "  (" + b.tg.threads()
                            + (b.tg.threads() == 1 ? " thread)" : " threads)"), b.tg.tokensPerS(), b.tg.floorTokensPerS()))
                            .toList(), "measured (best thread count)", "floor (same thread count)")));
        }
        written.add(write(outDir.resolve(TABLE), table(best, devices)));
        return written;
    }

    // ---- CSV -------------------------------------------------------------------------------------------------

    /** Reads one {@code minitron bench --csv} file (RFC 4180 quoting; a repeated header line is skipped). */
    public static List<Row> read(Path csv) {
        List<String> lines;
        try {
            lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelException(csv + ": no such file");
        } catch (IOException e) {
            throw new ModelException(csv + ": cannot read (" + e.getMessage() + ")", e);
        }
        int first = 0;
        while (first < lines.size() && lines.get(first).isBlank()) first++;
        if (first == lines.size()) throw new ModelException(csv + ": empty file, expected a minitron bench --csv header");
        String headerLine = lines.get(first);
        List<String> header = split(headerLine, csv, first + 1).stream().map(String::strip).toList();
        Map<String, Integer> col = new HashMap<>();
        for (int i = 0; i < header.size(); i++) col.putIfAbsent(header.get(i), i);
        List<String> missing = REQUIRED_COLUMNS.stream().filter(c -> !col.containsKey(c)).toList();
        if (!missing.isEmpty()) {
            throw new ModelException(csv + ": missing column" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing)
                    + " (expected the header of minitron bench --csv: " + String.join(",", BENCH_COLUMNS) + ")");
        }
        List<Row> rows = new ArrayList<>();
        for (int i = first + 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.equals(headerLine)) continue;
            int lineNo = i + 1;
            List<String> f = split(line, csv, lineNo);
            if (f.size() != header.size()) {
                throw new ModelException(csv + ":" + lineNo + ": " + f.size() + " fields, the header has " + header.size()
                        + " (an unquoted comma in a field, or numbers written with a decimal comma?)");
            }
            Field g = new Field(csv, lineNo, col, f);
            rows.add(new Row(g.text("model"), g.text("dtype"), g.text("backend"), g.text("device"),
                    (int) g.integer("threads", true), g.text("test"), g.number("tokens_per_s", true),
                    g.number("tokens_per_s_min", false), g.number("tokens_per_s_max", false),
                    g.integer("bytes_per_token", false), g.number("bandwidth_gb_s", false),
                    g.number("floor_tokens_per_s", true), g.number("floor_fraction", true), g.number("gflops", false)));
        }
        return rows;
    }

    /** Splits one CSV line: fields separated by commas, optionally in double quotes with "" for a quote. */
    static List<String> split(String line, Path csv, int lineNo) {
        List<String> out = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        int i = 0, n = line.length();
        while (true) {
            b.setLength(0);
            if (i < n && line.charAt(i) == '"') {
                i++;
                while (true) {
                    if (i >= n) throw new ModelException(csv + ":" + lineNo + ": unterminated quoted field");
                    char c = line.charAt(i++);
                    if (c != '"') b.append(c);
                    else if (i < n && line.charAt(i) == '"') {
                        b.append('"');
                        i++;
                    } else break;
                }
                if (i < n && line.charAt(i) != ',') {
                    throw new ModelException(csv + ":" + lineNo + ": text after a closing quote at column " + (i + 1));
                }
            } else {
                while (i < n && line.charAt(i) != ',') b.append(line.charAt(i++));
            }
            out.add(b.toString());
            if (i >= n) return out;
            i++; // the comma
        }
    }

    /** Typed access to the fields of one line, with errors naming file, line and column. */
    private record Field(Path csv, int line, Map<String, Integer> col, List<String> f) {
        String text(String name) {
            return f.get(col.get(name)).strip();
        }

        double number(String name, boolean required) {
            Integer i = col.get(name);
            if (i == null) return Double.NaN;
            String v = f.get(i).strip();
            try {
                double d = Double.parseDouble(v);
                if (!Double.isNaN(d)) return d;
            } catch (NumberFormatException ignored) {
                // reported below
            }
            if (!required && v.isEmpty()) return Double.NaN;
            throw new ModelException(csv + ":" + line + ": column " + name + " is '" + v + "', expected a number");
        }

        long integer(String name, boolean required) {
            Integer i = col.get(name);
            if (i == null) return -1;
            String v = f.get(i).strip();
            long min = required ? 1 : 0, max = required ? Integer.MAX_VALUE : Long.MAX_VALUE;
            try {
                long x = Long.parseLong(v);
                if (x >= min && x <= max) return x;
            } catch (NumberFormatException ignored) {
                // reported below
            }
            if (!required && v.isEmpty()) return -1;
            throw new ModelException(csv + ":" + line + ": column " + name + " is '" + v + "', expected a "
                    + (required ? "positive " : "non-negative ") + "integer");
        }
    }

    // ---- series ----------------------------------------------------------------------------------------------

    /**
     * Groups rows into series: one per (model, dtype, backend), plus the device when the rows come from more
     * than one device. Colors and markers are assigned once, so a series looks the same on every chart.
     */
    static final class Series {
        final Map<List<String>, Integer> index = new LinkedHashMap<>();
        final Map<List<String>, String> labels = new LinkedHashMap<>();
        final boolean byDevice;

        Series(List<Row> rows) {
            byDevice = rows.stream().map(Row::device).distinct().count() > 1;
            for (Row r : rows) {
                List<String> k = key(r);
                if (!index.containsKey(k)) {
                    index.put(k, index.size());
                    String label = stripExt(r.model()) + "  " + r.dtype() + "  " + r.backend();
                    labels.put(k, byDevice ? label + "  " + r.device() : label);
                }
            }
        }

        List<String> key(Row r) {
            return byDevice ? List.of(r.model(), r.dtype(), r.backend(), r.device()) : List.of(r.model(), r.dtype(), r.backend());
        }

        String label(Row r) {
            return labels.get(key(r));
        }

        /**
         * One line per series (and per test when rows of one kind have several sizes, e.g. tg32 and tg64), point
         * (threads, y); a repeated (series, threads) keeps its last row.
         */
        List<Charts.Line> lines(List<Row> rows, ToDoubleFunction<Row> y) {
            boolean byTest = rows.stream().map(Row::test).distinct().count() > 1;
            Map<String, Charts.Line> lines = new LinkedHashMap<>();
            for (Row r : rows) {
                String name = byTest ? label(r) + "  " + r.test() : label(r);
                lines.computeIfAbsent(name, k -> new Charts.Line(k, index.get(key(r)), !r.backend().equals("java"), new TreeMap<>()))
                        .points().put(r.threads(), y.applyAsDouble(r));
            }
            return List.copyOf(lines.values());
        }

    }

    /** The best decode and prefill rows of one series. */
    record Best(String label, Row tg, Row pp) {}

    static List<Best> best(List<Row> rows, Series s) {
        Map<List<String>, Row[]> m = new LinkedHashMap<>();
        for (Row r : rows) {
            int i = r.decode() ? 0 : r.prefill() ? 1 : -1;
            if (i < 0) continue; // a test this tool does not know
            Row[] b = m.computeIfAbsent(s.key(r), k -> new Row[2]);
            if (b[i] == null || r.tokensPerS() > b[i].tokensPerS()) b[i] = r;
        }
        List<Best> out = new ArrayList<>();
        for (var e : m.entrySet()) out.add(new Best(s.labels.get(e.getKey()), e.getValue()[0], e.getValue()[1]));
        return out;
    }

    private static String tests(List<Row> rows) {
        Set<String> t = new LinkedHashSet<>(rows.stream().map(Row::test).toList());
        return String.join(", ", t);
    }

    private static String stripExt(String model) {
        return model.toLowerCase(Locale.ROOT).endsWith(".gguf") ? model.substring(0, model.length() - 5) : model;
    }

    // ---- markdown --------------------------------------------------------------------------------------------

    /** The summary table: per series, best decode (with its floor) and best prefill. */
    static String table(List<Best> best, String devices) {
        StringBuilder b = new StringBuilder();
        b.append("Device: ").append(devices).append("\n\n");
        b.append("| model | dtype | backend | GB/token | best tg tok/s (threads) | floor tok/s | % of floor | best pp tok/s (threads) |\n");
        b.append("|---|---|---|---:|---:|---:|---:|---:|\n");
        for (Best x : best) {
            Row any = x.tg != null ? x.tg : x.pp;
            b.append("| ").append(md(any.model())).append(" | ").append(md(any.dtype())).append(" | ").append(md(any.backend()))
                    .append(" | ").append(any.bytesPerToken() >= 0 ? String.format(Locale.ROOT, "%.3f", any.bytesPerToken() / 1e9) : "")
                    .append(" | ");
            if (x.tg != null) {
                b.append(String.format(Locale.ROOT, "%.2f (%d) | %.2f | %.1f%%", x.tg.tokensPerS(), x.tg.threads(),
                        x.tg.floorTokensPerS(), 100 * x.tg.floorFraction()));
            } else {
                b.append("– | – | –");
            }
            b.append(" | ");
            b.append(x.pp != null ? String.format(Locale.ROOT, "%.2f (%d)", x.pp.tokensPerS(), x.pp.threads()) : "–");
            b.append(" |\n");
        }
        return b.toString();
    }

    private static String md(String s) {
        return s.replace("|", "\\|");
    }

    // ---- drawing (JFreeChart) --------------------------------------------------------------------------------

    /** The two chart kinds, drawn with JFreeChart in one consistent style. */
    static final class Charts {
        private Charts() {}

        static final int WIDTH = 1100, HEIGHT = 650;

        /** One line: its legend name, its series index (color and marker), dashed for a non-CPU backend. */
        record Line(String name, int series, boolean dashed, TreeMap<Integer, Double> points) {}

        /** One pair of bars. */
        record Bar(String category, double measured, double floor) {}

        /** A chart ready to be rendered. */
        record Chart(JFreeChart chart, int width, int height) {
            void writePng(Path file) throws IOException {
                ChartUtils.saveChartAsPNG(file.toFile(), chart, width, height);
            }
        }

        /** Colorblind-friendly qualitative palette (Okabe and Ito), then darker variants. */
        private static final Color[] PALETTE = {
                new Color(0x0072B2), new Color(0xE69F00), new Color(0x009E73), new Color(0xD55E00),
                new Color(0xCC79A7), new Color(0x56B4E9), new Color(0x000000), new Color(0xF0E442).darker(),
                new Color(0x0072B2).darker(), new Color(0xE69F00).darker(), new Color(0x009E73).darker(),
                new Color(0xD55E00).darker()};
        private static final Color GRID = new Color(0xD0D0D0);
        private static final Font SUBTITLE = new Font(Font.SANS_SERIF, Font.PLAIN, 13);

        static Color color(int series) {
            return PALETTE[series % PALETTE.length];
        }

        static Shape marker(int series) {
            double r = 4.5;
            return switch ((series / PALETTE.length + series) % 4) {
                case 0 -> new Ellipse2D.Double(-r, -r, 2 * r, 2 * r);
                case 1 -> new Rectangle2D.Double(-r, -r, 2 * r, 2 * r);
                case 2 -> {
                    Path2D.Double t = new Path2D.Double();
                    t.moveTo(0, -r * 1.2);
                    t.lineTo(r * 1.1, r);
                    t.lineTo(-r * 1.1, r);
                    t.closePath();
                    yield t;
                }
                default -> {
                    Path2D.Double d = new Path2D.Double();
                    d.moveTo(0, -r * 1.3);
                    d.lineTo(r * 1.3, 0);
                    d.lineTo(0, r * 1.3);
                    d.lineTo(-r * 1.3, 0);
                    d.closePath();
                    yield d;
                }
            };
        }

        /** Lines of y against the thread count; {@code marker}, if given, is a labelled horizontal line (the floor). */
        static Chart lines(String title, String subtitle, String xLabel, String yLabel, List<Line> lines, Double marker) {
            XYSeriesCollection data = new XYSeriesCollection();
            for (Line l : lines) {
                XYSeries s = new XYSeries(l.name(), true, false);
                l.points().forEach(s::add);
                data.addSeries(s);
            }
            JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, data, PlotOrientation.VERTICAL,
                    true, false, false);
            style(chart, subtitle);
            XYPlot plot = chart.getXYPlot();
            plot.setBackgroundPaint(Color.WHITE);
            plot.setDomainGridlinePaint(GRID);
            plot.setRangeGridlinePaint(GRID);
            plot.setOutlineVisible(false);
            XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
            for (int i = 0; i < lines.size(); i++) {
                Line l = lines.get(i);
                r.setSeriesPaint(i, color(l.series()));
                r.setSeriesShape(i, marker(l.series()));
                r.setSeriesStroke(i, l.dashed()
                        ? new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f, new float[] {8f, 5f}, 0f)
                        : new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            }
            plot.setRenderer(r);
            NumberAxis x = (NumberAxis) plot.getDomainAxis();
            x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
            int minT = lines.stream().mapToInt(l -> l.points().firstKey()).min().orElse(1);
            int maxT = lines.stream().mapToInt(l -> l.points().lastKey()).max().orElse(1);
            x.setRange(minT - 0.5, maxT + 0.5);
            NumberAxis y = (NumberAxis) plot.getRangeAxis();
            y.setAutoRangeIncludesZero(true);
            if (marker != null) {
                double maxY = lines.stream().flatMap(l -> l.points().values().stream()).mapToDouble(Double::doubleValue)
                        .filter(Double::isFinite).max().orElse(0);
                y.setRange(0, Math.max(marker * 1.12, maxY * 1.08));
                y.setNumberFormatOverride(new DecimalFormat("0'%'"));
                ValueMarker m = new ValueMarker(marker, new Color(0x555555), new BasicStroke(1.5f, BasicStroke.CAP_BUTT,
                        BasicStroke.JOIN_MITER, 1f, new float[] {4f, 4f}, 0f));
                m.setLabel("memory-bandwidth floor (100%)");
                m.setLabelFont(SUBTITLE);
                m.setLabelPaint(new Color(0x555555));
                m.setLabelBackgroundColor(new Color(255, 255, 255, 0));
                m.setLabelAnchor(RectangleAnchor.TOP_LEFT);
                m.setLabelTextAnchor(TextAnchor.BOTTOM_LEFT);
                m.setLabelOffset(new RectangleInsets(2, 8, 2, 2));
                plot.addRangeMarker(m);
            }
            return new Chart(chart, WIDTH, HEIGHT);
        }

        /** Horizontal bar pairs: measured (series color) next to the floor (grey), with value labels. */
        static Chart bars(String title, String subtitle, String valueLabel, List<Bar> bars, String measuredName, String floorName) {
            DefaultCategoryDataset data = new DefaultCategoryDataset();
            for (Bar b : bars) {
                data.addValue(b.measured(), measuredName, b.category());
                data.addValue(b.floor(), floorName, b.category());
            }
            JFreeChart chart = ChartFactory.createBarChart(title, null, valueLabel, data, PlotOrientation.HORIZONTAL,
                    true, false, false);
            style(chart, subtitle);
            CategoryPlot plot = chart.getCategoryPlot();
            plot.setBackgroundPaint(Color.WHITE);
            plot.setRangeGridlinePaint(GRID);
            plot.setOutlineVisible(false);
            BarRenderer r = (BarRenderer) plot.getRenderer();
            r.setBarPainter(new StandardBarPainter());
            r.setShadowVisible(false);
            r.setDrawBarOutline(false);
            r.setItemMargin(0.05);
            r.setSeriesPaint(0, color(0));
            r.setSeriesPaint(1, new Color(0xB0B0B0));
            r.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat("0.0#")));
            r.setDefaultItemLabelsVisible(true);
            r.setDefaultItemLabelFont(SUBTITLE);
            r.setDefaultPositiveItemLabelPosition(new ItemLabelPosition(ItemLabelAnchor.OUTSIDE3, TextAnchor.CENTER_LEFT));
            CategoryAxis c = plot.getDomainAxis();
            c.setMaximumCategoryLabelWidthRatio(0.45f);
            c.setCategoryMargin(0.25);
            plot.getRangeAxis().setUpperMargin(0.15);
            plot.setRangeAxisLocation(AxisLocation.BOTTOM_OR_RIGHT);
            int height = Math.max(380, 170 + 70 * bars.size());
            return new Chart(chart, WIDTH, height);
        }

        private static void style(JFreeChart chart, String subtitle) {
            chart.setBackgroundPaint(Color.WHITE);
            chart.setAntiAlias(true);
            chart.setTextAntiAlias(true);
            chart.setPadding(new RectangleInsets(8, 8, 8, 16));
            TextTitle sub = new TextTitle(subtitle, SUBTITLE);
            sub.setPaint(new Color(0x333333));
            sub.setPadding(new RectangleInsets(2, 4, 8, 4));
            chart.addSubtitle(sub);
            if (chart.getLegend() != null) {
                chart.getLegend().setFrame(BlockBorder.NONE);
                chart.getLegend().setItemFont(SUBTITLE);
                chart.getLegend().setItemLabelPadding(new RectangleInsets(2, 4, 2, 18));
            }
        }
    }

    // ---- output ----------------------------------------------------------------------------------------------

    private static Path png(Path target, Charts.Chart chart) {
        try (AtomicOutput out = AtomicOutput.file(target)) {
            chart.writePng(out.path());
            out.commit();
        } catch (IOException e) {
            throw new ModelException(target + ": cannot write the chart (" + e.getMessage() + ")", e);
        }
        return target;
    }

    private static Path write(Path target, String text) {
        try (AtomicOutput out = AtomicOutput.file(target)) {
            Files.writeString(out.path(), text, StandardCharsets.UTF_8);
            out.commit();
        } catch (IOException e) {
            throw new ModelException(target + ": cannot write (" + e.getMessage() + ")", e);
        }
        return target;
    }
}
