package dev.minitron.cli;

import dev.minitron.io.ModelException;
import dev.minitron.tensor.DType;
import dev.minitron.tools.Synth;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code minitron synth}: write a synthetic model of a real Minitron shape with seeded random weights. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a synthetic Minitron-shaped model (random weights, real names, shapes and tokenizer size).")
public final class SynthCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--shape", paramLabel = "NAME", required = true, description = "minitron-8b, minitron-4b, tiny, or a config.json path")
    String shape;
    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "bf16", description = "f32, bf16, f16 (hf or gguf); q8_0, q4_0, q4_k, q6_k or q4_k_m "
            + "(llama.cpp's Q4_K_M mix of Q4_K and Q6_K; gguf only) (default: ${DEFAULT-VALUE})")
    String dtype;
    @Option(names = "--format", paramLabel = "FMT", defaultValue = "gguf", description = "hf or gguf (default: ${DEFAULT-VALUE})")
    String format;
    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Weights seed (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--out", paramLabel = "PATH", required = true, description = "Output folder (hf) or .gguf file")
    Path out;
    @Option(names = "--no-progress", description = "No progress bar") boolean noProgress;

    @Override
    public Integer call() {
        DType t;
        String name = dtype.toUpperCase(Locale.ROOT);
        boolean mix = name.equals("Q4_K_M");
        try {
            t = mix ? DType.Q4_K : DType.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new ModelException("--dtype " + dtype + ": expected f32, bf16, f16, q8_0, q4_0, q4_k, q6_k or q4_k_m");
        }
        if (!format.equals("hf") && !format.equals("gguf")) throw new ModelException("--format " + format + ": expected hf or gguf");
        PrintStream err = System.err;
        Synth.run(new Synth.Options(shape, t, format, seed, out, !noProgress, mix), err);
        spec.commandLine().getOut().println(out);
        return 0;
    }
}
