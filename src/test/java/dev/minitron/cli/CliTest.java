package dev.minitron.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.minitron.Fixtures;
import dev.minitron.Fixtures.Prompt;
import dev.minitron.io.ModelLoader;
import dev.minitron.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.minitron.cli.Cli.floats;
import static dev.minitron.cli.Cli.ints;
import static dev.minitron.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.*;

/** The CLI end to end, in-process, against the fixtures' float64 references and the demo model. */
class CliTest {
    static final float TOL = 1e-4f;

    static String fx(String rel) {
        return Fixtures.path(rel).toString();
    }

    /** Arguments of {@code generate}/{@code score} for a golden prompt: -p, and --no-bos where the reference adds none. */
    static List<String> promptArgs(Prompt p) {
        List<String> a = new ArrayList<>(List.of("-p", p.text()));
        if (!p.addBos()) a.add("--no-bos");
        return a;
    }

    static String[] args(List<String> base, String... more) {
        return Stream.concat(base.stream(), Arrays.stream(more)).toArray(String[]::new);
    }

    // ------------------------------------------------------------------ generate

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "tiny-a/hf-fp32, tiny-a/golden.json",
            "tiny-b/gguf/tiny-b-f32.gguf, tiny-b/golden.json",
    })
    void greedyJsonMatchesReference(String model, String golden) {
        for (Prompt p : Fixtures.golden(Fixtures.path(golden))) {
            List<String> a = new ArrayList<>(List.of("generate", "-m", fx(model), "--temp", "0", "-n", "20",
                    "--ignore-eos", "--json", "-t", "2"));
            a.addAll(promptArgs(p));
            JsonNode o = run(a.toArray(String[]::new)).json();
            String what = model + " '" + p.text() + "'";
            assertArrayEquals(p.tokens(), ints(o.get("prompt_tokens")), what + ": prompt_tokens");
            assertArrayEquals(p.greedyTokens(), ints(o.get("generated_tokens")), what + ": generated_tokens");
            assertEquals(p.greedyText(), o.get("text").asText(), what + ": text");
            assertEquals("length", o.path("stop_reason").asText(), what);
            JsonNode t = o.get("timings");
            assertNotNull(t, "timings");
            for (String k : List.of("load_ms", "prefill_ms", "decode_ms", "prefill_tokens_per_s", "decode_tokens_per_s")) {
                assertTrue(t.path(k).isNumber(), what + ": timings." + k + " present: " + t);
                assertTrue(t.get(k).asDouble() > 0, what + ": timings." + k + " positive: " + t);
            }
        }
    }

    @Test
    void streamingPrintsPromptThenContinuationAndStatsOnStderr() {
        Cli.Run r = run("generate", "-p", "Permission is hereby granted", "--temp", "0", "-n", "10", "-t", "2").ok();
        Prompt p = demoPrompt("Permission is hereby granted");
        String want = "Permission is hereby granted" + decodeDemo(Arrays.copyOf(p.greedyTokens(), 10), true);
        assertEquals(want + System.lineSeparator(), r.out());
        assertTrue(r.err().contains("10 generated"), r.err());
        assertFalse(r.err().contains("error"), r.err());
    }

    /** No -m: the embedded demo model (weights/demo relative to the working directory). */
    @Test
    void defaultModelIsTheDemo() {
        assertNull(System.getProperty("minitron.home"), "this test assumes minitron.home is unset");
        JsonNode o = run("generate", "-p", "Permission is hereby granted", "--temp", "0", "-n", "10", "--json").json();
        assertTrue(o.get("text").asText().startsWith(", free of charge"), o.get("text").asText());
        Prompt p = demoPrompt("Permission is hereby granted");
        assertArrayEquals(p.tokens(), ints(o.get("prompt_tokens")));
        assertArrayEquals(Arrays.copyOf(p.greedyTokens(), 10), ints(o.get("generated_tokens")));
    }

    @Test
    void sameSeedSameOutputDifferentSeedDifferentOutput() {
        // (the demo model knows "This program is free software..." so well that seeds hardly matter there)
        String[] base = {"generate", "-p", "You may not", "--temp", "0.8", "-n", "30", "--ignore-eos", "--json"};
        JsonNode a = run(args(List.of(base), "-s", "42")).json();
        JsonNode b = run(args(List.of(base), "-s", "42", "-t", "1")).json();
        JsonNode c = run(args(List.of(base), "-s", "43")).json();
        assertEquals(42, a.get("seed").asLong());
        assertEquals(30, a.get("generated_tokens").size());
        assertEquals(a.get("generated_tokens"), b.get("generated_tokens"), "same seed, same tokens (also with another thread count)");
        assertEquals(a.get("text"), b.get("text"));
        assertNotEquals(a.get("generated_tokens"), c.get("generated_tokens"), "seeds 42 and 43 gave the same 30 tokens");
        int[] greedy = Arrays.copyOf(demoPrompt("You may not").greedyTokens(), 30);
        assertFalse(Arrays.equals(greedy, ints(a.get("generated_tokens"))) && Arrays.equals(greedy, ints(c.get("generated_tokens"))),
                "--temp 0.8 gave the greedy path with both seeds");
    }

    @Test
    void stopStringCutsTheText() {
        // greedy: ", free of charge, to any person obtaining a copy ..."
        JsonNode o = run("generate", "-p", "Permission is hereby granted", "--temp", "0", "-n", "20", "--json",
                "--stop", " to any").json();
        assertEquals(", free of charge,", o.get("text").asText());
        assertEquals("stop", o.get("stop_reason").asText());
        assertTrue(o.get("generated_tokens").size() < 20, o.toString());

        Cli.Run r = run("generate", "-p", "Permission is hereby granted", "--temp", "0", "-n", "20",
                "--stop", "person", "--stop", " to any").ok();
        assertEquals("Permission is hereby granted, free of charge," + System.lineSeparator(), r.out(),
                "streamed text stops before the earliest stop string");
    }

    /**
     * No reference path meets EOS, so make one: a copy of tiny-a whose tokenizer_config names the 4th greedy token
     * of prompt 0 as eos_token. Generation stops there (EOS not in the text); --ignore-eos goes on to -n.
     */
    @Test
    void stopsAtEosUnlessIgnoreEos(@TempDir Path tmp) throws IOException {
        Path dir = copy(Fixtures.path("tiny-a/hf-fp32"), tmp.resolve("m"));
        Prompt p = Fixtures.golden(Fixtures.path("tiny-a/golden.json")).get(0);
        Tokenizer tok = ModelLoader.load(dir).tokenizer();
        int eos = p.greedyTokens()[3];
        ObjectMapper om = new ObjectMapper();
        ObjectNode tc = (ObjectNode) om.readTree(dir.resolve("tokenizer_config.json").toFile());
        tc.put("eos_token", tok.piece(eos));
        Files.writeString(dir.resolve("tokenizer_config.json"), om.writeValueAsString(tc));
        assertEquals(eos, ModelLoader.load(dir).tokenizer().eosId());

        JsonNode o = run("generate", "-m", dir.toString(), "-p", p.text(), "--temp", "0", "-n", "20", "--json").json();
        assertEquals("eos", o.get("stop_reason").asText());
        assertArrayEquals(Arrays.copyOf(p.greedyTokens(), 4), ints(o.get("generated_tokens")));
        assertEquals(tok.decode(Arrays.copyOf(p.greedyTokens(), 3)), o.get("text").asText());

        JsonNode all = run("generate", "-m", dir.toString(), "-p", p.text(), "--temp", "0", "-n", "20", "--json",
                "--ignore-eos").json();
        assertEquals("length", all.get("stop_reason").asText());
        assertArrayEquals(p.greedyTokens(), ints(all.get("generated_tokens")));
    }

    @Test
    void generationStopsAtTheEndOfTheContext() {
        // "Permission is hereby granted" is 5 tokens; -c 8 leaves room for 3 more positions
        JsonNode o = run("generate", "-p", "Permission is hereby granted", "--temp", "0", "-n", "20", "--json", "-c", "8").json();
        assertEquals("context", o.get("stop_reason").asText());
        Prompt p = demoPrompt("Permission is hereby granted");
        int[] gen = ints(o.get("generated_tokens"));
        assertTrue(gen.length >= 3 && gen.length <= 4, Arrays.toString(gen));
        assertArrayEquals(Arrays.copyOf(p.greedyTokens(), gen.length), gen);
    }

    /** -n bigger than what fits: generation runs to the end of the context instead of failing. */
    @Test
    void hugeNPredictRunsToTheContext() {
        JsonNode o = run("generate", "-p", "Permission is hereby granted", "--temp", "0", "-n", "2147483647", "--json",
                "-c", "12").json();
        assertEquals("context", o.get("stop_reason").asText());
        Prompt p = demoPrompt("Permission is hereby granted");
        int[] gen = ints(o.get("generated_tokens"));
        assertArrayEquals(Arrays.copyOf(p.greedyTokens(), gen.length), gen);
    }

    @Test
    void zeroTokensIsJustThePrompt() {
        JsonNode o = run("generate", "-p", "Permission is hereby granted", "-n", "0", "--json").json();
        assertEquals(0, o.get("generated_tokens").size());
        assertEquals("", o.get("text").asText());
    }

    // ------------------------------------------------------------------ score

    @Test
    void scoreLastLogits() {
        for (Prompt p : Fixtures.golden(Fixtures.path("tiny-a/golden.json"))) {
            JsonNode o = run(args(List.of("score", "-m", fx("tiny-a/hf-bf16"), "--json", "-t", "2"), promptArgs(p).toArray(String[]::new))).json();
            assertArrayEquals(p.tokens(), ints(o.get("prompt_tokens")), "score tokens of '" + p.text() + "'");
            float[] logits = floats(o.get("logits"));
            assertEquals(1000, logits.length);
            float d = Fixtures.maxAbsDiff(logits, 0, p.lastLogits());
            assertTrue(d < TOL, "'" + p.text() + "': logits differ by " + d);
        }
    }

    @Test
    void scoreAllPositions() {
        Prompt p = Fixtures.golden(Fixtures.path("tiny-a/golden.json")).get(1);
        assertNotNull(p.allPromptLogits());
        JsonNode o = run("score", "-m", fx("tiny-a/hf-bf16"), "-p", p.text(), "--json", "--all-positions").json();
        JsonNode rows = o.get("logits");
        assertEquals(p.tokens().length, rows.size());
        for (int i = 0; i < rows.size(); i++) {
            float[] row = floats(rows.get(i));
            assertEquals(1000, row.length);
            float d = Fixtures.maxAbsDiff(row, 0, p.allPromptLogits()[i]);
            assertTrue(d < TOL, "position " + i + ": logits differ by " + d);
        }
        float d = Fixtures.maxAbsDiff(floats(rows.get(rows.size() - 1)), 0, p.lastLogits());
        assertTrue(d < TOL, "last row = last_logits, off by " + d);
    }

    @Test
    void scoreNoBos() {
        Prompt p = Fixtures.golden(Fixtures.path("tiny-a/golden.json")).get(5);
        assertEquals("Hello world", p.text());
        assertFalse(p.addBos());
        JsonNode o = run("score", "-m", fx("tiny-a/hf-bf16"), "-p", "Hello world", "--json", "--no-bos").json();
        assertArrayEquals(p.tokens(), ints(o.get("prompt_tokens")));
        assertNotEquals(2, p.tokens()[0]);
        float d = Fixtures.maxAbsDiff(floats(o.get("logits")), 0, p.lastLogits());
        assertTrue(d < TOL, "logits differ by " + d);
        // and with BOS the tokens start with <s>
        JsonNode withBos = run("score", "-m", fx("tiny-a/hf-bf16"), "-p", "Hello world", "--json").json();
        assertEquals(2, withBos.get("prompt_tokens").get(0).asInt());
        assertEquals(p.tokens().length + 1, withBos.get("prompt_tokens").size());
    }

    // ------------------------------------------------------------------ tokenize, info

    @Test
    void tokenizePrintsIds() {
        for (Prompt p : Fixtures.golden(Fixtures.path("tiny-a/golden.json"))) {
            List<String> a = new ArrayList<>(List.of("tokenize", "-m", fx("tiny-a/hf-fp32")));
            a.addAll(promptArgs(p));
            Cli.Run r = run(a.toArray(String[]::new)).ok();
            List<String> lines = r.out().lines().toList();
            assertEquals(p.tokens().length + " tokens", lines.get(lines.size() - 1));
            int[] ids = lines.subList(0, lines.size() - 1).stream().mapToInt(l -> Integer.parseInt(l.strip().split("\\s+")[0])).toArray();
            assertArrayEquals(p.tokens(), ids, "tokenize '" + p.text() + "'");

            a.add("--json");
            Cli.Run j = run(a.toArray(String[]::new)).ok();
            assertEquals(Arrays.toString(p.tokens()).replace(" ", ""), j.out().strip());
        }
    }

    @Test
    void infoShowsShapesAndRotaryDims() {
        Cli.Run b = run("info", "-m", fx("tiny-b/hf-fp32")).ok();
        assertTrue(b.out().contains("rotary       8 of 16 dims per head"), b.out());
        assertTrue(b.out().contains("heads 6 (kv 2) x head_dim 16 = 96"), b.out());
        assertTrue(b.out().matches("(?s).*model\\.layers\\.N\\.self_attn\\.q_proj\\.weight\\s+F32 \\[96, 64].*"), b.out());
        assertTrue(b.out().matches("(?s).*model\\.layers\\.N\\.self_attn\\.o_proj\\.weight\\s+F32 \\[64, 96].*"), b.out());
        assertEquals("", b.err());

        // the converter's wrong rope count (5) is corrected, with a warning on stderr
        Cli.Run g = run("info", "-m", fx("tiny-b/gguf/tiny-b-f32-converter-rope5.gguf")).ok();
        assertTrue(g.out().contains("rotary       8 of 16 dims per head"), g.out());
        assertTrue(g.err().startsWith("warning: ") && g.err().contains("rope.dimension_count = 5"), g.err());

        Cli.Run a = run("info", "-m", fx("tiny-a/hf-bf16")).ok();
        assertTrue(a.out().contains("layers 3, hidden 64, ffn 256, heads 4 (kv 2) x head_dim 16 = 64, vocab 1000"), a.out());
        assertTrue(a.out().contains("BF16 [1000, 64]"), a.out());
    }

    @Test
    void helpAndVersion() {
        Cli.Run h = run("generate", "--help").ok();
        for (String flag : List.of("-m", "-p", "-n", "--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "-s",
                "-t", "--no-bos", "--ignore-eos", "--json", "--stop", "-c")) {
            assertTrue(h.out().contains(flag), "generate --help lists " + flag);
        }
        Cli.Run s = run("score", "--help").ok();
        assertTrue(s.out().contains("--all-positions"));
        assertTrue(run("--version").ok().out().startsWith("minitron "));
    }

    // ------------------------------------------------------------------ helpers

    static Prompt demoPrompt(String text) {
        return Fixtures.golden(Fixtures.demo().resolve("golden.json")).stream().filter(p -> p.text().equals(text))
                .findFirst().orElseThrow();
    }

    /** Decodes demo-model tokens as a continuation (keeping the first piece's leading space when {@code stream}). */
    static String decodeDemo(int[] ids, boolean stream) {
        Tokenizer tok = ModelLoader.load(Fixtures.demo()).tokenizer();
        if (!stream) return tok.decode(ids);
        var dec = tok.streamDecoder(false);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(dec.push(id));
        return sb.append(dec.flush()).toString();
    }

    static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path f : s.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }
}
