package dev.minitron.cli;

import dev.minitron.io.ModelException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * Entry point of {@code bin/minitron}. User mistakes (bad path, bad file, bad flag, prompt too long) print one
 * line on stderr and exit non-zero; set {@code MINITRON_DEBUG=1} to see stack traces of internal errors.
 */
@Command(name = "minitron", mixinStandardHelpOptions = true, version = "minitron 0.1.0",
        description = "Run NVIDIA Minitron (NemotronForCausalLM) models on the JVM.",
        subcommands = {GenerateCommand.class, ScoreCommand.class, TokenizeCommand.class, InfoCommand.class,
                BenchCommand.class, SynthCommand.class, PlotCommand.class, ConvertCommand.class,
                DevicesCommand.class})
public final class Main implements Runnable {

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI and returns the exit code (tests call this directly). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("error: " + ex.getMessage().lines().findFirst().orElse("bad arguments")
                    + " (see: " + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help)");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            Throwable e = ex;
            if (e instanceof ModelException) {
                err.println("error: " + e.getMessage());
                return 1;
            }
            if (e instanceof OutOfMemoryError) {
                err.println("error: out of Java heap memory; raise it with JAVA_OPTS=-Xmx<size> or use a smaller context (-c)");
                return 1;
            }
            if (System.getenv("MINITRON_DEBUG") != null) e.printStackTrace(err);
            err.println("internal error: " + e + " (set MINITRON_DEBUG=1 for a stack trace)");
            return 3;
        });
        return cl.execute(args);
    }
}
