package dev.minitron.cli;

import dev.minitron.tools.Convert;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code minitron convert}: rewrite a model as one GGUF file or as a Hugging Face safetensors folder. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a model (HF safetensors or .bin folder, or GGUF) to GGUF or to a HF safetensors folder.")
public final class ConvertCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "SRC", required = true, description = "Hugging Face model folder or .gguf file")
    Path model;
    @Option(names = "--to", paramLabel = "FMT", required = true, description = "gguf or safetensors")
    String to;
    @Option(names = "--type", paramLabel = "TYPE", required = true,
            description = "f32, f16, bf16, q8_0, q4_0, q4_k, q6_k or q4_k_m (quantized types: gguf only; 1-D tensors stay F32 in GGUF; "
                    + "q4_k_m is llama.cpp's mix of Q4_K and Q6_K)")
    String type;
    @Option(names = "--out", paramLabel = "PATH", required = true, description = "Output .gguf file, or new folder for safetensors")
    Path out;
    @Option(names = "--max-shard-size", paramLabel = "SIZE", defaultValue = Convert.DEFAULT_MAX_SHARD,
            description = "Largest safetensors shard, e.g. 5GB, 500MB, 2GiB (default: ${DEFAULT-VALUE})")
    String maxShardSize;
    @Option(names = "--no-progress", description = "No progress bar") boolean noProgress;

    @Override
    public Integer call() {
        Convert.Result r = Convert.run(new Convert.Options(model, to, type, out, maxShardSize, !noProgress), System.err);
        spec.commandLine().getOut().println(r.out());
        return 0;
    }
}
