package dev.minitron.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.minitron.cpu.Parallel;
import dev.minitron.engine.Backends;
import dev.minitron.engine.ForwardPass;
import dev.minitron.engine.Generator;
import dev.minitron.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** {@code minitron score}: the full-vocabulary logits after the prompt (or at every position), as JSON. */
@Command(name = "score", mixinStandardHelpOptions = true, description = "Print the logits of a prompt as JSON.")
public final class ScoreCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ModelOptions model;
    @Mixin PromptOptions prompt;

    @Option(names = "--json", description = "JSON output (the only format)")
    boolean json = true;
    @Option(names = "--all-positions", description = "Logits at every prompt position, not only the last")
    boolean allPositions;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Model m = model.load(err);
        int[] ids = prompt.encode(m.tokenizer());
        int context = GenerateCommand.contextFor(m, null, ids.length);
        GenerateCommand.checkCache(m, ids.length);
        int V = m.config().vocabSize();
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.set("prompt_tokens", om.valueToTree(ids));
        try (Parallel par = new Parallel(model.threads());
             ForwardPass f = Backends.open(model.backend(), m, Math.min(context, ids.length), par, err)) {
            if (!allPositions) {
                o.set("logits", om.valueToTree(Generator.prefill(f, ids)));
            } else {
                ArrayNode rows = o.putArray("logits");
                for (int from = 0; from < ids.length; from += Generator.PREFILL_CHUNK) {
                    int to = Math.min(ids.length, from + Generator.PREFILL_CHUNK);
                    float[] all = f.forward(Arrays.copyOfRange(ids, from, to), from, true);
                    for (int t = 0; t < to - from; t++) rows.add(om.valueToTree(Arrays.copyOfRange(all, t * V, (t + 1) * V)));
                }
            }
        }
        out.println(om.writeValueAsString(o));
        return 0;
    }
}
