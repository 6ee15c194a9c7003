package dev.minitron.tools;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar for long writes: {@code label [#####-----]  45.2%  3.79/8.38 GB  412 MB/s  ETA 0:11}.
 *
 * <p>Redrawn in place with a carriage return, at most every {@value #INTERVAL_MS} ms, so it costs nothing
 * measurable however often {@link #advance} is called (it is safe to call from several threads). A disabled
 * bar prints nothing at all.
 */
public final class Progress {
    static final long INTERVAL_MS = 250;
    private static final int WIDTH = 30;

    private final PrintStream out;
    private final String label;
    private final long total;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private long done;
    private long lastDraw = Long.MIN_VALUE;
    private int lastLength;

    public Progress(PrintStream out, String label, long totalBytes, boolean enabled) {
        this.out = out;
        this.label = label;
        this.total = Math.max(1, totalBytes);
        this.enabled = enabled && out != null;
    }

    /** Counts {@code bytes} more as written; redraws if the last draw is old enough. */
    public synchronized void advance(long bytes) {
        done += bytes;
        if (!enabled) return;
        long now = System.nanoTime();
        if (lastDraw != Long.MIN_VALUE && now - lastDraw < INTERVAL_MS * 1_000_000) return;
        lastDraw = now;
        draw(now, false);
    }

    /** Draws the final state and ends the line. */
    public synchronized void finish() {
        if (!enabled) return;
        draw(System.nanoTime(), true);
    }

    public synchronized long done() { return done; }

    private void draw(long now, boolean last) {
        double secs = Math.max(1e-9, (now - start) / 1e9);
        double frac = Math.min(1.0, (double) done / total);
        int filled = (int) Math.round(frac * WIDTH);
        double rate = done / secs;
        StringBuilder sb = new StringBuilder();
        sb.append(label).append(" [").append("#".repeat(filled)).append("-".repeat(WIDTH - filled)).append("] ");
        sb.append(String.format(Locale.ROOT, "%5.1f%%  %s/%s  %s/s", 100 * frac, size(done), size(total), size((long) rate)));
        if (last) {
            sb.append(String.format(Locale.ROOT, "  in %s", time(secs)));
        } else if (rate > 0 && done < total) {
            sb.append("  ETA ").append(time((total - done) / rate));
        }
        String line = sb.toString();
        int pad = Math.max(0, lastLength - line.length());
        lastLength = line.length();
        out.print("\r" + line + " ".repeat(pad) + (last ? "\n" : ""));
        out.flush();
    }

    /** Human-readable byte count with decimal units (as disks and download pages count). */
    static String size(long bytes) {
        if (bytes < 1000) return bytes + " B";
        String[] units = {"kB", "MB", "GB", "TB"};
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
    }

    static String time(double secs) {
        long s = Math.round(secs);
        if (secs < 10) return String.format(Locale.ROOT, "%.1fs", secs);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
