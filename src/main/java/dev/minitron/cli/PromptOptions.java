package dev.minitron.cli;

import dev.minitron.io.ModelException;
import dev.minitron.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

/** {@code -p TEXT} and {@code --no-bos}. */
public final class PromptOptions {
    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", required = true, description = "Prompt text")
    String prompt;

    @Option(names = "--no-bos", description = "Do not add the beginning-of-sequence token")
    boolean noBos;

    int[] encode(Tokenizer tok) {
        int[] ids = tok.encodeWithSpecials(prompt, tok.addBos() && !noBos);
        if (ids.length == 0) throw new ModelException("-p: the prompt is empty and no BOS token is added; nothing to run");
        return ids;
    }
}
