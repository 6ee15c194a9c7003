package dev.minitron.gpu;

import java.io.PrintStream;
import java.util.function.Supplier;

/**
 * While TornadoVM compiles a kernel whose {@code @Parallel} bound comes from a worker grid, it prints
 * "[TornadoVM] Warning: The loop bounds will be configured by the GridScheduler..." on standard output, which
 * would corrupt the CLI's stdout ({@code --json}). That is exactly what we intend (see {@link Grids}), so the line
 * is dropped while our graphs compile; everything else passes through.
 */
final class QuietStdout {
    private QuietStdout() {}

    static final String NOTICE = "[TornadoVM] Warning: The loop bounds will be configured by the GridScheduler";

    static synchronized <T> T run(Supplier<T> body) {
        PrintStream original = System.out;
        System.setOut(new PrintStream(original, true) {
            @Override
            public void println(String line) {
                if (line == null || !line.startsWith(NOTICE)) super.println(line);
            }
        });
        try {
            return body.get();
        } finally {
            System.setOut(original);
        }
    }
}
