package dev.minitron.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.minitron.cpu.Parallel;
import dev.minitron.engine.Backends;
import dev.minitron.engine.ForwardPass;
import dev.minitron.engine.Generator;
import dev.minitron.engine.Sampler;
import dev.minitron.io.ModelException;
import dev.minitron.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code minitron generate}: sample a continuation of the prompt, streaming it to stdout (or one JSON object). */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate text from a prompt.")
public final class GenerateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ModelOptions model;
    @Mixin PromptOptions prompt;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "64", description = "Tokens to generate (default: ${DEFAULT-VALUE})")
    int n;
    @Option(names = "--temp", paramLabel = "T", defaultValue = "0.8", description = "Temperature; 0 = greedy (default: ${DEFAULT-VALUE})")
    float temp;
    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Top-k, 0 = off (default: ${DEFAULT-VALUE})")
    int topK;
    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Top-p, 1 = off (default: ${DEFAULT-VALUE})")
    float topP;
    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05", description = "Min-p, 0 = off (default: ${DEFAULT-VALUE})")
    float minP;
    @Option(names = "--repeat-penalty", paramLabel = "R", defaultValue = "1.0", description = "Repetition penalty, 1 = off (default: ${DEFAULT-VALUE})")
    float repeatPenalty;
    @Option(names = "--repeat-last-n", paramLabel = "N", defaultValue = "64", description = "Tokens the penalty looks back at (default: ${DEFAULT-VALUE})")
    int repeatLastN;
    @Option(names = {"-s", "--seed"}, paramLabel = "SEED", description = "Random seed (default: random)")
    Long seed;
    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N", description = "Context length (default: the model's max_position_embeddings)")
    Integer ctx;
    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop when this text appears (repeatable)")
    List<String> stops = List.of();
    @Option(names = "--ignore-eos", description = "Do not stop at the end-of-sequence token")
    boolean ignoreEos;
    @Option(names = "--json", description = "Print one JSON object instead of streaming text")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        check(n >= 0, "-n must be >= 0, got " + n);
        check(temp >= 0 && Float.isFinite(temp), "--temp must be >= 0, got " + temp);
        check(topK >= 0, "--top-k must be >= 0, got " + topK);
        check(topP > 0 && topP <= 1, "--top-p must be in (0, 1], got " + topP);
        check(minP >= 0 && minP < 1, "--min-p must be in [0, 1), got " + minP);
        check(repeatPenalty > 0 && Float.isFinite(repeatPenalty), "--repeat-penalty must be > 0, got " + repeatPenalty);
        check(repeatLastN >= 0, "--repeat-last-n must be >= 0, got " + repeatLastN);

        long t0 = System.nanoTime();
        Model m = model.load(err);
        double loadMs = (System.nanoTime() - t0) / 1e6;
        int[] ids = prompt.encode(m.tokenizer());
        int context = contextFor(m, ctx, ids.length);
        // Generation ends at the end of the context after at most max(1, context - prompt) tokens, so a larger -n
        // changes nothing; bound it (keeping it above that count, so the stop reason stays "context") so that the
        // sizes derived from it cannot overflow.
        int maxNew = (int) Math.min(n, (long) context - ids.length + 2);
        int positions = (int) Math.min(context, (long) ids.length + Math.max(maxNew, 1));
        checkCache(m, positions);
        long s = seed != null ? seed : System.nanoTime();
        var opts = new Generator.Options(maxNew, ignoreEos, stops,
                new Sampler.Options(temp, topK, topP, minP, repeatPenalty, repeatLastN, s));
        try (Parallel par = new Parallel(model.threads()); ForwardPass f = Backends.open(model.backend(), m, positions, par, err)) {
            if (!json) {
                out.print(prompt.prompt);
                out.flush();
            }
            Generator.Result r = Generator.generate(f, m.tokenizer(), ids, opts, json ? t -> {} : t -> {
                out.print(t);
                out.flush();
            });
            if (json) {
                ObjectMapper om = new ObjectMapper();
                ObjectNode o = om.createObjectNode();
                o.set("prompt_tokens", om.valueToTree(r.promptTokens()));
                o.set("generated_tokens", om.valueToTree(r.generated()));
                o.put("text", r.text());
                o.put("stop_reason", r.stopReason());
                o.put("seed", s);
                ObjectNode tm = o.putObject("timings");
                tm.put("load_ms", loadMs);
                tm.put("prefill_ms", r.prefillMs());
                tm.put("decode_ms", r.decodeMs());
                tm.put("prefill_tokens_per_s", r.prefillTokensPerSecond());
                tm.put("decode_tokens_per_s", r.decodeTokensPerSecond());
                tm.put("threads", par.threads());
                out.println(om.writeValueAsString(o));
            } else {
                out.println();
                err.printf("[%d prompt tokens: %.1f tokens/s | %d generated: %.1f tokens/s | load %.0f ms | %d threads | stop: %s]%n",
                        ids.length, r.prefillTokensPerSecond(), r.generated().length, r.decodeTokensPerSecond(), loadMs,
                        par.threads(), r.stopReason());
            }
        }
        return 0;
    }

    /** The context length to use: {@code -c} or the model's, refusing a prompt that does not fit. */
    static int contextFor(Model m, Integer ctx, int promptTokens) {
        int max = m.config().maxPositions();
        int c = ctx == null ? max : ctx;
        if (c < 1) throw new ModelException("-c must be >= 1, got " + c);
        if (promptTokens > c) {
            throw new ModelException("the prompt is " + promptTokens + " tokens but the context holds " + c
                    + (ctx == null ? " (the model's max_position_embeddings)" : " (-c)"));
        }
        return c;
    }

    /** Refuses a KV cache that cannot be one Java array per layer (positions x kv_dim floats). */
    static void checkCache(Model m, int positions) {
        long floats = (long) positions * m.config().kvDim();
        if (floats > Integer.MAX_VALUE - 16) {
            throw new ModelException("a context of " + positions + " positions is too large for this model's KV cache (at most "
                    + (Integer.MAX_VALUE - 16) / m.config().kvDim() + "); use a smaller -c or -n");
        }
    }

    static void check(boolean ok, String msg) {
        if (!ok) throw new ModelException(msg);
    }
}
