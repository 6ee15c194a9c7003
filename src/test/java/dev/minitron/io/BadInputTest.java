package dev.minitron.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.minitron.Fixtures;
import dev.minitron.cli.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

import static dev.minitron.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The user's mistakes, through the CLI: each corrupt input is built in a temp folder from a copy of a fixture,
 * and must give a non-zero exit, nothing on stdout, and exactly one stderr line "error: ..." that names the
 * file / tensor / flag and what was expected (no stack trace, no exception name). See {@link Cli.Run#userError}.
 */
class BadInputTest {
    static final ObjectMapper OM = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A fresh copy of tiny-a/hf-fp32 under the temp folder. */
    Path model() throws IOException {
        return copyDir(Fixtures.path("tiny-a/hf-fp32"), tmp.resolve("model"));
    }

    static Path copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path f : s.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    static Cli.Run gen(Path model, String... more) {
        String[] base = {"generate", "-m", model.toString(), "-p", "Hello", "--json"};
        String[] a = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, a, base.length, more.length);
        return run(a);
    }

    /** Every command that loads a model fails the same way on it. */
    static String allCommandsFail(Path model, String... parts) {
        String line = gen(model).userError(parts);
        assertEquals(line, run("score", "-m", model.toString(), "-p", "Hello", "--json").userError(parts));
        assertEquals(line, run("tokenize", "-m", model.toString(), "-p", "Hello").userError(parts));
        assertEquals(line, run("info", "-m", model.toString()).userError(parts));
        return line;
    }

    // ------------------------------------------------------------------ paths and config.json

    @Test
    void modelPathDoesNotExist() {
        Path p = tmp.resolve("nowhere");
        allCommandsFail(p, p.toString(), "no such file or folder");
    }

    @Test
    void folderWithoutConfig() throws IOException {
        Path m = model();
        Files.delete(m.resolve("config.json"));
        allCommandsFail(m, m.toString(), "no config.json");
    }

    @Test
    void fileThatIsNeitherFolderNorGguf() throws IOException {
        Path f = Files.writeString(tmp.resolve("notes.txt"), "hello");
        allCommandsFail(f, f.toString(), ".gguf");
    }

    @Test
    void configIsNotJson() throws IOException {
        Path m = model();
        Files.writeString(m.resolve("config.json"), "{ this is not json");
        allCommandsFail(m, m.resolve("config.json").toString());
    }

    @Test
    void configIsAJsonArray() throws IOException {
        Path m = model();
        Files.writeString(m.resolve("config.json"), "[1, 2]");
        allCommandsFail(m, m.resolve("config.json").toString(), "not a JSON object");
    }

    @Test
    void llamaArchitectureIsRefusedByName() throws IOException {
        Path m = model();
        editConfig(m, c -> {
            ((ArrayNode) c.get("architectures")).set(0, "LlamaForCausalLM");
            c.put("model_type", "llama");
        });
        allCommandsFail(m, m.resolve("config.json").toString(), "LlamaForCausalLM", "NemotronForCausalLM");
    }

    @Test
    void configMissingHiddenSize() throws IOException {
        Path m = model();
        editConfig(m, c -> c.remove("hidden_size"));
        allCommandsFail(m, m.resolve("config.json").toString(), "hidden_size");
    }

    @Test
    void configHiddenSizeNotANumber() throws IOException {
        Path m = model();
        editConfig(m, c -> c.put("hidden_size", "sixty-four"));
        allCommandsFail(m, m.resolve("config.json").toString(), "hidden_size");
    }

    @Test
    void configZeroHeadsWithoutHeadDim() throws IOException {
        Path m = model();
        editConfig(m, c -> {
            c.put("num_attention_heads", 0);
            c.remove("head_dim");
        });
        allCommandsFail(m, m.resolve("config.json").toString(), "num_attention_heads");
    }

    @Test
    void configValueCheckNamesTheFile() throws IOException {
        Path m = model();
        editConfig(m, c -> c.put("num_key_value_heads", 3)); // 4 heads are not a multiple of 3
        allCommandsFail(m, m.resolve("config.json").toString(), "num_key_value_heads");
    }

    @Test
    void configOddRotaryDims() throws IOException {
        Path m = model();
        editConfig(m, c -> c.put("partial_rotary_factor", 0.3125)); // 16 * 0.3125 = 5 rotated dims: not even
        allCommandsFail(m, m.resolve("config.json").toString(), "rotary");
    }

    @Test
    void configUnsupportedActivation() throws IOException {
        Path m = model();
        editConfig(m, c -> c.put("hidden_act", "silu"));
        allCommandsFail(m, m.resolve("config.json").toString(), "hidden_act", "silu", "relu2");
    }

    // ------------------------------------------------------------------ safetensors

    @Test
    void safetensorsTruncatedInHalf() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(st);
        Files.write(st, Arrays.copyOf(b, b.length / 2));
        allCommandsFail(m, st.toString(), "data_offsets", "outside");
    }

    @Test
    void safetensorsTruncatedInsideTheHeader() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        Files.write(st, Arrays.copyOf(Files.readAllBytes(st), 100));
        allCommandsFail(m, st.toString(), "header", "past the end");
    }

    @Test
    void safetensorsTinyFile() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        Files.write(st, new byte[] {1, 2, 3});
        allCommandsFail(m, st.toString(), "truncated");
    }

    @Test
    void safetensorsEmptyFile() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        Files.write(st, new byte[0]);
        allCommandsFail(m, st.toString(), "empty");
    }

    @Test
    void safetensorsHeaderLengthLargerThanFile() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(st);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, b.length + 10L);
        Files.write(st, b);
        allCommandsFail(m, st.toString(), "header", "past the end");
    }

    @Test
    void safetensorsHeaderLengthNegative() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(st);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -5);
        Files.write(st, b);
        allCommandsFail(m, st.toString(), "header length");
    }

    @Test
    void safetensorsHeaderNotJson() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(st);
        b[8] = 'x';
        Files.write(st, b);
        allCommandsFail(m, st.toString(), "not valid JSON");
    }

    @Test
    void safetensorsOffsetsOutOfRange() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> offsets(h, "model.norm.weight", 1_000_000_000L, 1_000_000_256L));
        allCommandsFail(m, st.toString(), "model.norm.weight", "data_offsets", "outside");
    }

    @Test
    void safetensorsOffsetsReversed() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> offsets(h, "model.norm.weight", 256, 0));
        allCommandsFail(m, st.toString(), "model.norm.weight", "data_offsets [256, 0]", "end before");
    }

    @Test
    void safetensorsSizeDisagreesWithShape() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> {
            ArrayNode o = (ArrayNode) h.get("model.norm.weight").get("data_offsets");
            o.set(1, o.get(1).asLong() - 4);
        });
        allCommandsFail(m, st.toString(), "model.norm.weight", "252 bytes", "256");
    }

    @Test
    void safetensorsOverlappingTensors() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        // embed_tokens [1000, 64] F32 now starts inside lm_head [0, 256000]: same size, so only the overlap is wrong
        editHeader(st, h -> offsets(h, "model.embed_tokens.weight", 1000, 257000));
        allCommandsFail(m, st.toString(), "overlap", "lm_head.weight", "model.embed_tokens.weight");
    }

    /** An empty tensor sorted between two overlapping ones must not hide the overlap. */
    @Test
    void safetensorsOverlapBehindAnEmptyTensor() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> {
            ObjectNode e = h.putObject("extra.empty");
            e.put("dtype", "F32");
            e.putArray("shape").add(0);
            e.putArray("data_offsets").add(500).add(500);
            offsets(h, "model.embed_tokens.weight", 1000, 257000);
        });
        allCommandsFail(m, st.toString(), "overlap", "lm_head.weight", "model.embed_tokens.weight");
    }

    @Test
    void safetensorsUnknownDtype() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> ((ObjectNode) h.get("model.norm.weight")).put("dtype", "I64"));
        allCommandsFail(m, st.toString(), "model.norm.weight", "I64", "F32");
    }

    @Test
    void safetensorsTensorEntryNotAnObject() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> h.put("model.norm.weight", 7));
        allCommandsFail(m, st.toString(), "model.norm.weight");
    }

    @Test
    void safetensorsShapeOverflows() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> ((ObjectNode) h.get("model.norm.weight")).putArray("shape")
                .add(1L << 40).add(1L << 40));
        allCommandsFail(m, st.toString(), "model.norm.weight", "shape");
    }

    @Test
    void safetensorsNegativeShape() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> ((ObjectNode) h.get("model.norm.weight")).putArray("shape").add(-64));
        allCommandsFail(m, st.toString(), "model.norm.weight", "shape");
    }

    @Test
    void tensorShapeDisagreesWithConfig() throws IOException {
        Path m = model();
        editConfig(m, c -> c.put("hidden_size", 32));
        allCommandsFail(m, m.toString(), "config.json", "[64]", "[32]");
    }

    @Test
    void vocabSizeDisagreesWithConfig() throws IOException {
        Path m = model();
        editConfig(m, c -> c.put("vocab_size", 2000));
        allCommandsFail(m, m.toString(), "_", "[1000, 64]", "config.json implies [2000, 64]");
    }

    @Test
    void missingTensor() throws IOException {
        Path m = model();
        Path st = m.resolve("model.safetensors");
        editHeader(st, h -> h.remove("model.layers.1.mlp.down_proj.weight"));
        allCommandsFail(m, m.toString(), "model.layers.1.mlp.down_proj.weight", "missing");
    }

    @Test
    void noWeightsAtAll() throws IOException {
        Path m = model();
        Files.delete(m.resolve("model.safetensors"));
        allCommandsFail(m, m.toString(), "model.safetensors");
    }

    // ------------------------------------------------------------------ sharded safetensors

    /** Splits the copy's model.safetensors into an index naming two shards: the real file and {@code second}. */
    Path sharded(String second) throws IOException {
        Path m = model();
        Files.move(m.resolve("model.safetensors"), m.resolve("model-00001-of-00002.safetensors"));
        ObjectNode idx = OM.createObjectNode();
        idx.putObject("metadata").put("total_size", 1);
        ObjectNode map = idx.putObject("weight_map");
        byte[] b = Files.readAllBytes(m.resolve("model-00001-of-00002.safetensors"));
        ObjectNode h = header(b);
        h.fieldNames().forEachRemaining(n -> {
            if (!n.equals("__metadata__")) map.put(n, "model-00001-of-00002.safetensors");
        });
        map.put("model.layers.2.mlp.up_proj.weight", second);
        Files.writeString(m.resolve("model.safetensors.index.json"), OM.writeValueAsString(idx));
        return m;
    }

    @Test
    void shardedIndexIsValid() throws IOException {
        Path m = sharded("model-00001-of-00002.safetensors");
        Cli.Run r = gen(m).ok();
        assertEquals("", r.err());
    }

    @Test
    void shardedIndexNamesAMissingShard() throws IOException {
        Path m = sharded("model-00002-of-00002.safetensors");
        allCommandsFail(m, m.resolve("model.safetensors.index.json").toString(), "'model-00002-of-00002.safetensors'",
                "not in the folder");
    }

    @Test
    void shardedIndexNamesAShardOutsideTheFolder() throws IOException {
        Path m = sharded("../model-00002-of-00002.safetensors");
        allCommandsFail(m, "model.safetensors.index.json", "../model-00002-of-00002.safetensors");
    }

    @Test
    void shardedIndexPutsATensorInTheWrongShard() throws IOException {
        Path m = sharded("model-00001-of-00002.safetensors");
        Files.copy(m.resolve("model-00001-of-00002.safetensors"), m.resolve("model-00002-of-00002.safetensors"));
        Path st2 = m.resolve("model-00002-of-00002.safetensors");
        editHeader(st2, h -> {
            for (var it = h.fieldNames(); it.hasNext(); ) {
                String n = it.next();
                if (!n.equals("model.layers.2.mlp.up_proj.weight") && !n.equals("__metadata__")) it.remove();
            }
        });
        ObjectNode idx = (ObjectNode) OM.readTree(m.resolve("model.safetensors.index.json").toFile());
        ((ObjectNode) idx.get("weight_map")).put("model.layers.2.mlp.up_proj.weight", "model-00002-of-00002.safetensors");
        ((ObjectNode) idx.get("weight_map")).put("model.layers.2.mlp.down_proj.weight", "model-00002-of-00002.safetensors");
        Files.writeString(m.resolve("model.safetensors.index.json"), OM.writeValueAsString(idx));
        // shard 1 still holds up_proj too: the same tensor in two shards
        allCommandsFail(m, "model.layers.2.mlp.up_proj.weight");
    }

    @Test
    void shardedIndexNotJson() throws IOException {
        Path m = sharded("model-00001-of-00002.safetensors");
        Files.writeString(m.resolve("model.safetensors.index.json"), "{{{");
        allCommandsFail(m, m.resolve("model.safetensors.index.json").toString(), "JSON");
    }

    // ------------------------------------------------------------------ tokenizer

    @Test
    void missingTokenizer() throws IOException {
        Path m = model();
        Files.delete(m.resolve("tokenizer.model"));
        Files.delete(m.resolve("tokenizer.json"));
        allCommandsFail(m, m.toString(), "tokenizer.model", "tokenizer.json");
    }

    @Test
    void tokenizerModelIsGarbage() throws IOException {
        Path m = model();
        Files.delete(m.resolve("tokenizer.json"));
        byte[] junk = new byte[5000];
        new java.util.Random(1).nextBytes(junk);
        Files.write(m.resolve("tokenizer.model"), junk);
        allCommandsFail(m, m.resolve("tokenizer.model").toString());
    }

    @Test
    void tokenizerModelTruncated() throws IOException {
        Path m = model();
        Files.delete(m.resolve("tokenizer.json"));
        byte[] b = Files.readAllBytes(m.resolve("tokenizer.model"));
        Files.write(m.resolve("tokenizer.model"), Arrays.copyOf(b, b.length / 2));
        allCommandsFail(m, m.resolve("tokenizer.model").toString());
    }

    @Test
    void tokenizerJsonIsNotJson() throws IOException {
        Path m = model();
        Files.delete(m.resolve("tokenizer.model"));
        Files.writeString(m.resolve("tokenizer.json"), "{\"model\": [");
        allCommandsFail(m, m.resolve("tokenizer.json").toString());
    }

    // ------------------------------------------------------------------ pytorch .bin

    @Test
    void pytorchShardTruncated() throws IOException {
        Path m = copyDir(Fixtures.path("tiny-a-bin"), tmp.resolve("bin"));
        Path shard = m.resolve("pytorch_model-00002-of-00002.bin");
        byte[] b = Files.readAllBytes(shard);
        Files.write(shard, Arrays.copyOf(b, b.length / 2));
        allCommandsFail(m, shard.toString());
    }

    @Test
    void pytorchShardIsNotAZip() throws IOException {
        Path m = copyDir(Fixtures.path("tiny-a-bin"), tmp.resolve("bin"));
        Path shard = m.resolve("pytorch_model-00001-of-00002.bin");
        Files.writeString(shard, "this is not a zip file at all, just text that is long enough to look at".repeat(10));
        allCommandsFail(m, shard.toString());
    }

    @Test
    void tokenizerConfigNamesAnUnknownEos() throws IOException {
        Path m = model();
        ObjectNode tc = (ObjectNode) OM.readTree(m.resolve("tokenizer_config.json").toFile());
        tc.put("eos_token", "<|no-such-token|>");
        Files.writeString(m.resolve("tokenizer_config.json"), OM.writeValueAsString(tc));
        allCommandsFail(m, "tokenizer_config.json", "<|no-such-token|>");
    }

    // ------------------------------------------------------------------ GGUF

    static final Path GGUF = Fixtures.path("tiny-a/gguf/tiny-a-f32.gguf");

    @Test
    void ggufWrongMagic() throws IOException {
        byte[] b = Files.readAllBytes(GGUF);
        b[0] = 'X';
        Path f = Files.write(tmp.resolve("bad.gguf"), b);
        allCommandsFail(f, f.toString(), "not a GGUF file");
    }

    @Test
    void ggufTruncated() throws IOException {
        byte[] b = Files.readAllBytes(GGUF);
        Path f = Files.write(tmp.resolve("cut.gguf"), Arrays.copyOf(b, b.length / 2));
        allCommandsFail(f, f.toString());
    }

    @Test
    void ggufLlamaArchitectureIsRefusedByName() throws IOException {
        Path f = Files.write(tmp.resolve("llama.gguf"), replaceString(Files.readAllBytes(GGUF), "nemotron", "llama"));
        allCommandsFail(f, f.toString(), "'llama'", "nemotron");
    }

    @Test
    void ggufZeroHeads() throws IOException {
        byte[] b = Files.readAllBytes(GGUF);
        int pos = afterString(b, "nemotron.attention.head_count");
        int type = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(pos);
        assertEquals(4, type, "head_count is a u32 in the fixture");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(pos + 4, 0);
        Path f = Files.write(tmp.resolve("zero-heads.gguf"), b);
        allCommandsFail(f, f.toString(), "head_count");
    }

    // ------------------------------------------------------------------ flags

    @Test
    void badFlags() {
        Path m = Fixtures.path("tiny-a/hf-fp32");
        gen(m, "-n", "-1").userError("-n", "-1");
        gen(m, "--temp", "-1").userError("--temp", "-1");
        gen(m, "--temp", "NaN").userError("--temp");
        gen(m, "--top-p", "2").userError("--top-p", "2");
        gen(m, "--top-p", "0").userError("--top-p");
        gen(m, "--top-k", "-3").userError("--top-k", "-3");
        gen(m, "--min-p", "1.5").userError("--min-p", "1.5");
        gen(m, "--repeat-penalty", "0").userError("--repeat-penalty");
        gen(m, "--repeat-last-n", "-2").userError("--repeat-last-n");
        gen(m, "-t", "0").userError("-t", "0");
        gen(m, "-t", "-4").userError("-t", "-4");
        gen(m, "--foo").userError("--foo", "(see: minitron generate --help)");
        gen(m, "-n", "abc").userError("abc");
        gen(m, "-s", "x").userError("x");
        gen(m, "-c", "0").userError("-c", "0");
        gen(m, "-c", "2000000000", "-n", "2000000000").userError("2000000000 positions", "KV cache", "-c");
        run("generate", "-m", m.toString()).userError("--prompt");
        run("generate", "-m", m.toString(), "-p").userError("-p");
        run("score", "-m", m.toString(), "-p", "Hello", "-t", "0").userError("-t", "0");
        run("tokenize", "-m", m.toString(), "-p", "Hello", "--bar").userError("--bar");
        run("info", "-m", m.toString(), "-t", "0").userError("-t", "0");
        run("frobnicate").userError("frobnicate", "(see: minitron --help)");
    }

    @Test
    void emptyPromptWithoutBos() {
        Path m = Fixtures.path("tiny-a/hf-fp32");
        run("generate", "-m", m.toString(), "-p", "", "--no-bos", "--json").userError("-p", "empty");
        run("score", "-m", m.toString(), "-p", "", "--no-bos", "--json").userError("-p", "empty");
    }

    @Test
    void contextSmallerThanThePrompt() {
        Path m = Fixtures.path("tiny-a/hf-fp32");
        int tokens = run("tokenize", "-m", m.toString(), "-p", "Hello", "--json").json0().size();
        assertTrue(tokens > 2);
        String line = gen(m, "-c", "2").userError("-c", "2");
        assertTrue(line.contains(" " + tokens + " tokens"), "says the prompt length (" + tokens + "): " + line);
        gen(m, "-c", String.valueOf(tokens - 1)).userError("-c", " " + (tokens - 1));
        gen(m, "-c", String.valueOf(tokens), "-n", "3").json();
    }

    @Test
    void promptLongerThanTheModelsContext() throws IOException {
        Path m = model();
        editConfig(m, c -> c.put("max_position_embeddings", 8));
        String prompt = "This License applies to any program or other work which contains a notice";
        String line = run("generate", "-m", m.toString(), "-p", prompt, "--json").userError("max_position_embeddings", " 8");
        assertTrue(line.matches(".*\\b\\d\\d tokens\\b.*"), "says the prompt length: " + line);
        run("score", "-m", m.toString(), "-p", prompt, "--json").userError("max_position_embeddings", " 8");
        // a prompt that fits still runs, and stops at the end of the context
        var ok = run("generate", "-m", m.toString(), "-p", "Hello", "-n", "50", "--json").json();
        assertEquals("context", ok.get("stop_reason").asText());
    }

    // ------------------------------------------------------------------ helpers

    static void editConfig(Path m, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode c = (ObjectNode) OM.readTree(m.resolve("config.json").toFile());
        edit.accept(c);
        Files.writeString(m.resolve("config.json"), OM.writerWithDefaultPrettyPrinter().writeValueAsString(c));
    }

    static ObjectNode header(byte[] file) throws IOException {
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return (ObjectNode) OM.readTree(new String(file, 8, (int) n, StandardCharsets.UTF_8));
    }

    /** Rewrites the JSON header of a safetensors file (new length, same data bytes after it). */
    static void editHeader(Path st, Consumer<ObjectNode> edit) throws IOException {
        byte[] b = Files.readAllBytes(st);
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        ObjectNode h = header(b);
        edit.accept(h);
        byte[] nh = OM.writeValueAsBytes(h);
        ByteBuffer out = ByteBuffer.allocate(8 + nh.length + (b.length - 8 - (int) n)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(nh.length).put(nh).put(b, 8 + (int) n, b.length - 8 - (int) n);
        Files.write(st, out.array());
    }

    static void offsets(ObjectNode h, String tensor, long begin, long end) {
        ((ObjectNode) h.get(tensor)).putArray("data_offsets").add(begin).add(end);
    }

    /** Position just after the GGUF string {@code s} (u64 length + bytes), its first occurrence. */
    static int afterString(byte[] b, String s) {
        byte[] str = s.getBytes(StandardCharsets.UTF_8);
        byte[] pat = ByteBuffer.allocate(8 + str.length).order(ByteOrder.LITTLE_ENDIAN).putLong(str.length).put(str).array();
        outer:
        for (int i = 0; i + pat.length <= b.length; i++) {
            for (int j = 0; j < pat.length; j++) if (b[i + j] != pat[j]) continue outer;
            return i + pat.length;
        }
        throw new IllegalStateException(s + " not found");
    }

    /**
     * Replaces the first GGUF string {@code from} by {@code to} (shorter), keeping the tensor data where it was: the
     * bytes saved are added as padding before the data section (tiny-a-f32.gguf: data from offset 24480).
     */
    static byte[] replaceString(byte[] b, String from, String to) {
        int dataStart = 24480;
        int end = afterString(b, from);
        int start = end - from.length() - 8;
        byte[] rep = ByteBuffer.allocate(8 + to.length()).order(ByteOrder.LITTLE_ENDIAN).putLong(to.length())
                .put(to.getBytes(StandardCharsets.UTF_8)).array();
        int saved = (end - start) - rep.length;
        assertTrue(saved >= 0);
        ByteBuffer out = ByteBuffer.allocate(b.length);
        out.put(b, 0, start).put(rep).put(b, end, dataStart - end).put(new byte[saved]).put(b, dataStart, b.length - dataStart);
        return out.array();
    }
}
