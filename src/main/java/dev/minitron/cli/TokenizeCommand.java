package dev.minitron.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.model.Model;
import dev.minitron.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code minitron tokenize}: the token ids (and pieces) of a text. */
@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Show the token ids of a prompt.")
public final class TokenizeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ModelOptions model;
    @Mixin PromptOptions prompt;

    @Option(names = "--json", description = "Print the ids as a JSON array")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Model m = model.load(spec.commandLine().getErr());
        Tokenizer tok = m.tokenizer();
        int[] ids = tok.encodeWithSpecials(prompt.prompt, tok.addBos() && !prompt.noBos);
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(ids));
        } else {
            for (int id : ids) out.printf("%6d  %s%n", id, tok.piece(id));
            out.println(ids.length + " tokens");
        }
        return 0;
    }
}
