package dev.minitron.cli;

import dev.minitron.model.Config;
import dev.minitron.model.Model;
import dev.minitron.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code minitron info}: architecture, shapes, dtypes per tensor kind, parameter count and bytes. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Describe a model.")
public final class InfoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ModelOptions model;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Model m = model.load(spec.commandLine().getErr());
        Config c = m.config();
        out.printf("model        %s%n", m.source());
        out.printf("format       %s%n", m.format());
        out.printf("architecture %s%n", c.architecture());
        out.printf("layers %d, hidden %d, ffn %d, heads %d (kv %d) x head_dim %d = %d, vocab %d, context %d%n",
                c.numLayers(), c.hiddenSize(), c.intermediateSize(), c.numHeads(), c.numKvHeads(), c.headDim(),
                c.qDim(), c.vocabSize(), c.maxPositions());
        out.printf("rotary       %d of %d dims per head (NeoX pairs), theta %.0f, scale %.3g%n",
                c.rotaryDim(), c.headDim(), c.ropeTheta(), c.ropeScale());
        out.printf("norm         LayerNorm1P, eps %.3g; mlp relu^2; untied lm_head%n", c.normEps());
        out.printf("tokenizer    %d pieces, bos %d, eos %d, add_bos %s%n", m.tokenizer().vocabSize(),
                m.tokenizer().bosId(), m.tokenizer().eosId(), m.tokenizer().addBos());
        Map<String, String> kinds = new TreeMap<>();
        long params = 0, bytes = 0;
        for (Tensor t : m.tensors().values()) {
            params += t.numel();
            bytes += t.data().byteSize();
            String kind = t.name().replaceAll("\\.\\d+\\.", ".N.");
            kinds.merge(kind, t.dtype() + " " + Arrays.toString(t.shape()), (a, b) -> a.equals(b) ? a : a + " | " + b);
        }
        out.println("tensors:");
        kinds.forEach((k, v) -> out.printf("  %-48s %s%n", k, v));
        out.printf("parameters   %,d (%.2f B)%n", params, params / 1e9);
        out.printf("bytes        %,d (%.2f GB); read per decoded token: %.2f GB%n", bytes, bytes / 1e9,
                m.weights().bytesPerToken() / 1e9);
        return 0;
    }
}
