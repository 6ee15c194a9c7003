package dev.minitron.cli;

import dev.minitron.tools.Plot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code minitron plot}: PNG charts and a markdown summary of {@code minitron bench --csv} results. */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = {"Draw PNG charts of 'minitron bench --csv' results: decode tokens/s, decode %% of the "
                + "memory-bandwidth floor and prefill tokens/s against threads, and the best decode speed next to its floor; "
                + "also writes a markdown summary (" + Plot.TABLE + ").",
                "Prints the paths of the files written."})
public final class PlotCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--csv", paramLabel = "FILE", required = true, split = ",",
            description = "CSV written by minitron bench --csv (repeatable or comma-separated)")
    List<Path> csv;
    @Option(names = {"-o", "--out"}, paramLabel = "DIR", required = true,
            description = "Output folder (created if missing; files of the same names are replaced)")
    Path out;

    @Override
    public Integer call() {
        PrintWriter w = spec.commandLine().getOut();
        for (Path p : Plot.run(csv, out)) w.println(p);
        return 0;
    }
}
