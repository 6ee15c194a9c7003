package dev.minitron.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.minitron.io.AtomicOutput;
import dev.minitron.io.Gguf;
import dev.minitron.io.GgufWriter;
import dev.minitron.io.ModelException;
import dev.minitron.io.ModelLoader;
import dev.minitron.io.SafeTensorsWriter;
import dev.minitron.model.Config;
import dev.minitron.model.Model;
import dev.minitron.model.Weights;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Quantize;
import dev.minitron.tensor.Tensor;
import dev.minitron.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Converts a model between the formats the engine reads: anything {@link ModelLoader#load} accepts (Hugging Face
 * safetensors, sharded safetensors, PyTorch {@code .bin}, GGUF) to one GGUF v3 file or to a Hugging Face
 * safetensors folder.
 *
 * <p>What changes between the formats (docs/NEMOTRON.md sections 2 and 4):
 * <ul>
 *   <li>tensor names (HF {@code model.layers.N.self_attn.q_proj.weight} vs GGUF {@code blk.N.attn_q.weight});</li>
 *   <li>LayerNorm1P weights: HF stores gamma-1, GGUF gamma. Computed in float32: {@code w + 1} going to GGUF,
 *       {@code gamma - 1} going to HF. The latter is exact in float32 for every gamma in [0.5, 2] (Sterbenz),
 *       so a GGUF made from an HF checkpoint gives the checkpoint's bits back; the final rounding to BF16/F16
 *       is exact only when the value is representable there;</li>
 *   <li>dtypes: in GGUF 1-D tensors are always F32 and matrices are {@code --type}, or for {@code q4_k_m} llama.cpp's
 *       mix of Q4_K and Q6_K ({@link ModelFiles#ggufTensorType}) (Q8_0/Q4_0 need rows that are a multiple of 32,
 *       Q4_K/Q6_K of 256; a matrix whose rows are not is written F16, with a note); in safetensors every tensor
 *       is {@code --type} (F32, F16 or BF16);</li>
 *   <li>metadata: GGUF {@code nemotron.*} and {@code tokenizer.ggml.*} keys (written by {@link ModelFiles}, as
 *       llama.cpp's converter writes them but with the correct {@code rope.dimension_count}), or HF
 *       {@code config.json}, {@code generation_config.json} and tokenizer files (copied from an HF source; from
 *       a GGUF source a SentencePiece {@code tokenizer.model} and {@code tokenizer_config.json} are written from
 *       the GGUF vocabulary).</li>
 * </ul>
 *
 * <p>Values: a tensor whose dtype does not change and needs no +-1 is copied byte for byte; any other one is read
 * as float32 (exact for F32, F16, BF16 and the dequantization of quantized types) and encoded with
 * {@link Quantize} (ggml's reference rounding for Q8_0/Q4_0; a simpler rule than {@code llama-quantize}'s search
 * for Q4_K/Q6_K, see {@link Quantize#q4_K}). Converting from a GGUF whose matrices are quantized to another
 * type cannot restore what quantization removed: a warning says so.
 *
 * <p>Memory is bounded: each tensor is converted a block of rows at a time (about {@value #CHUNK_BYTES} bytes),
 * never a whole tensor. Output goes through {@link AtomicOutput}: a failed or interrupted run leaves nothing at
 * the output path.
 */
public final class Convert {
    private Convert() {}

    /** Hugging Face's default shard limit ({@code max_shard_size="5GB"}). */
    public static final String DEFAULT_MAX_SHARD = "5GB";
    static final int CHUNK_BYTES = 4 << 20;

    /**
     * @param source       model to read (anything {@link ModelLoader#load} accepts)
     * @param to           "gguf" or "safetensors"
     * @param type         f32, f16, bf16, q8_0, q4_0, q4_k, q6_k or q4_k_m (the quantized ones for gguf only)
     * @param out          output .gguf file, or output folder (must not exist or be empty)
     * @param maxShardSize safetensors shard limit such as "5GB", "200KB", "2GiB" or a byte count; null = 5GB
     * @param progress     draw a progress bar on the error stream
     */
    public record Options(Path source, String to, String type, Path out, String maxShardSize, boolean progress) {}

    /** What was written ({@code type} Q4_K for q4_k_m), and the notes and warnings that were printed. */
    public record Result(Path out, DType type, List<String> notes) {}

    private enum Target { GGUF, SAFETENSORS }

    /** Converts as {@code o} says; notes, warnings and the progress bar go to {@code err}. */
    public static Result run(Options o, PrintStream err) {
        return run(o, err, CHUNK_BYTES, name -> {});
    }

    /** {@link #run(Options, PrintStream)} with a chunk size and a hook called before each tensor (tests). */
    static Result run(Options o, PrintStream err, int chunkBytes, Consumer<String> beforeTensor) {
        Target target = target(o.to());
        DType type = type(o.type());
        boolean mix = o.type().toLowerCase(Locale.ROOT).equals("q4_k_m");
        if (target == Target.SAFETENSORS && type.isQuantized()) {
            throw new ModelException("convert: --type " + o.type() + " is not possible for safetensors (f32, f16 or bf16; "
                    + "the quantized types need --to gguf)");
        }
        long maxShard = parseSize(o.maxShardSize() == null ? DEFAULT_MAX_SHARD : o.maxShardSize());
        if (o.source() == null) throw new ModelException("convert: no source model given (-m)");
        if (o.out() == null) throw new ModelException("convert: no output path given (--out)");
        Path src = o.source().toAbsolutePath().normalize(), out = o.out().toAbsolutePath().normalize();
        if (src.equals(out) || (Files.isDirectory(src) && out.startsWith(src) && target == Target.SAFETENSORS)) {
            throw new ModelException("convert: --out " + o.out() + " would overwrite the source " + o.source());
        }
        if (target == Target.GGUF && !out.getFileName().toString().endsWith(".gguf")) {
            throw new ModelException("convert: --out " + o.out() + " must be a .gguf file for --to gguf");
        }

        Model m = ModelLoader.load(src);
        boolean fromGguf = m.format().startsWith("gguf");
        List<String> notes = new ArrayList<>();
        Consumer<String> note = s -> {
            notes.add(s);
            err.println(s);
        };
        m.warnings().forEach(w -> note.accept("note: " + w));
        List<Job> jobs = plan(m, target, type, mix, fromGguf, note);
        if (target == Target.SAFETENSORS) jobs.sort(Comparator.comparing(Job::hf)); // the order HF's safetensors writes
        long total = jobs.stream().mapToLong(Job::bytes).sum();
        Progress bar = new Progress(err, "converting to " + out.getFileName(), total, o.progress());
        Writer w = new Writer(chunkBytes, beforeTensor, bar);
        if (target == Target.GGUF) writeGguf(m, src, fromGguf, jobs, type, out, w);
        else writeHf(m, src, fromGguf, jobs, type, out, maxShard, w);
        bar.finish();
        return new Result(out, type, List.copyOf(notes));
    }

    // ---- flags ---------------------------------------------------------------------------------------------

    private static Target target(String to) {
        String t = to == null ? "" : to.toLowerCase(Locale.ROOT);
        return switch (t) {
            case "gguf" -> Target.GGUF;
            case "safetensors", "hf" -> Target.SAFETENSORS;
            default -> throw new ModelException("convert: --to " + to + ": expected gguf or safetensors");
        };
    }

    private static DType type(String type) {
        String t = type == null ? "" : type.toLowerCase(Locale.ROOT);
        return switch (t) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "bf16" -> DType.BF16;
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            case "q4_k", "q4_k_m" -> DType.Q4_K;
            case "q6_k" -> DType.Q6_K;
            default -> throw new ModelException("convert: --type " + type + ": expected f32, f16, bf16, q8_0, q4_0, q4_k, q6_k or q4_k_m");
        };
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(i?)(b?)");

    /** "5GB" = 5e9 bytes (decimal, as Hugging Face counts), "2GiB" = 2 x 2^30, "200KB", "1.5G", "123456". */
    static long parseSize(String s) {
        Matcher mt = SIZE.matcher(s.trim().toLowerCase(Locale.ROOT));
        if (mt.matches() && !(mt.group(2).isEmpty() && !mt.group(3).isEmpty())) {
            int power = " kmgt".indexOf(mt.group(2).isEmpty() ? " " : mt.group(2));
            double unit = Math.pow(mt.group(3).isEmpty() ? 1000 : 1024, power);
            double bytes = Double.parseDouble(mt.group(1)) * unit;
            if (bytes >= 1 && bytes < Long.MAX_VALUE) return (long) bytes;
        }
        throw new ModelException("convert: --max-shard-size " + s + ": expected a positive size such as 5GB, 500MB or 2GiB");
    }

    // ---- tensors -------------------------------------------------------------------------------------------

    /** HF role name -> GGUF role name, in the order of a layer's tensors in an HF state dict. */
    private static final String[][] LAYER_ROLES = {
            {"input_layernorm", "attn_norm"}, {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"},
            {"self_attn.v_proj", "attn_v"}, {"self_attn.o_proj", "attn_output"},
            {"post_attention_layernorm", "ffn_norm"}, {"mlp.up_proj", "ffn_up"}, {"mlp.down_proj", "ffn_down"}};

    /**
     * One output tensor: its names, the source tensor, the output dtype, and what is added to every value
     * (+1 / -1 for LayerNorm1P weights changing convention, else 0).
     */
    record Job(String hf, String gguf, Tensor src, DType dtype, float add) {
        long bytes() { return dtype.bytesFor(src.numel()); }

        boolean rawCopy() { return add == 0f && dtype == src.dtype(); }
    }

    /** Every NemotronForCausalLM tensor of {@code m}, in HF state-dict order, with its output dtype. */
    private static List<Job> plan(Model m, Target target, DType type, boolean mix, boolean fromGguf, Consumer<String> note) {
        Map<String, String> names = new LinkedHashMap<>(); // hf -> gguf
        names.put("model.embed_tokens.weight", "token_embd.weight");
        for (int i = 0; i < m.config().numLayers(); i++) {
            for (String[] role : LAYER_ROLES) {
                for (String kind : List.of(".weight", ".bias")) {
                    names.put("model.layers." + i + "." + role[0] + kind, "blk." + i + "." + role[1] + kind);
                }
            }
        }
        names.put("model.norm.weight", "output_norm.weight");
        names.put("model.norm.bias", "output_norm.bias");
        names.put("lm_head.weight", "output.weight");

        Map<String, Tensor> tensors = m.tensors();
        for (String name : tensors.keySet()) {
            if (!names.containsKey(name)) note.accept("note: skipping tensor '" + name + "' (not used by NemotronForCausalLM)");
        }
        List<Job> jobs = new ArrayList<>();
        Set<DType> fallback = new TreeSet<>();
        Set<Integer> blockSizes = new TreeSet<>();
        Set<String> fallbackNames = new LinkedHashSet<>();
        Set<DType> requantized = new TreeSet<>();
        for (var e : names.entrySet()) {
            Tensor t = tensors.get(e.getKey());
            if (t == null) continue;
            if (!e.getKey().equals(Weights.hfName(e.getValue()))) throw new IllegalStateException("name table: " + e);
            DType dt = target == Target.GGUF
                    ? ModelFiles.ggufTensorType(type, mix, e.getValue(), t.shape().length, m.config().numLayers())
                    : type;
            if (dt.isQuantized() && t.cols() % dt.blockSize() != 0) {
                fallbackNames.add(e.getValue() + " " + t.shapeString());
                fallback.add(dt);
                blockSizes.add(dt.blockSize());
                dt = DType.F16;
            }
            boolean normWeight = e.getKey().endsWith("layernorm.weight") || e.getKey().equals("model.norm.weight");
            float add = !normWeight ? 0f : target == Target.GGUF && !fromGguf ? 1f : target == Target.SAFETENSORS && fromGguf ? -1f : 0f;
            if (t.dtype().isQuantized() && t.dtype() != dt) requantized.add(t.dtype());
            jobs.add(new Job(e.getKey(), e.getValue(), t, dt, add));
        }
        if (!fallbackNames.isEmpty()) {
            note.accept("note: " + fallbackNames.size() + " matrices have rows that are not a multiple of "
                    + String.join("/", blockSizes.stream().map(String::valueOf).toList()) + ", which " + join(fallback)
                    + " needs; they are written as F16: " + String.join(", ", fallbackNames));
        }
        if (!requantized.isEmpty()) {
            note.accept("warning: " + m.source() + " holds " + join(requantized) + "-quantized tensors; writing them as "
                    + (type.isQuantized() ? "re-quantized " : "") + type + " loses precision: the output holds at best the "
                    + "quantized values, never the original weights (convert from the float checkpoint when you can)");
        }
        return jobs;
    }

    private static String join(Set<DType> types) {
        return String.join("/", types.stream().map(DType::name).toList());
    }

    /** Streams tensors into a channel, a block of rows at a time. */
    private static final class Writer {
        private final int chunkBytes;
        private final Consumer<String> beforeTensor;
        private final Progress bar;

        Writer(int chunkBytes, Consumer<String> beforeTensor, Progress bar) {
            this.chunkBytes = chunkBytes;
            this.beforeTensor = beforeTensor;
            this.bar = bar;
        }

        void write(Job job, WritableByteChannel out) throws IOException {
            beforeTensor.accept(job.hf());
            Tensor t = job.src();
            if (job.rawCopy()) {
                MemorySegment data = t.data();
                for (long off = 0; off < data.byteSize(); off += chunkBytes) {
                    long n = Math.min(chunkBytes, data.byteSize() - off);
                    writeFully(out, data.asSlice(off, n).asByteBuffer());
                    bar.advance(n);
                }
                return;
            }
            int rows = t.rows(), cols = t.cols();
            int outRowBytes = Math.toIntExact(job.dtype().bytesFor(cols));
            int perChunk = Math.max(1, chunkBytes / Math.max(outRowBytes, 4 * cols));
            float[] values = new float[perChunk * cols];
            ByteBuffer buf = ByteBuffer.allocate(perChunk * outRowBytes).order(ByteOrder.LITTLE_ENDIAN);
            for (int r0 = 0; r0 < rows; r0 += perChunk) {
                int n = Math.min(perChunk, rows - r0);
                for (int r = 0; r < n; r++) t.readRow(r0 + r, values, r * cols);
                if (job.add() != 0f) for (int i = 0; i < n * cols; i++) values[i] += job.add();
                // rows are whole blocks (cols % block size == 0 for the block types), so the block of rows encodes at once
                int bytes = Quantize.encode(job.dtype(), values, 0, n * cols, buf, 0);
                writeFully(out, buf.clear().limit(bytes));
                bar.advance(bytes);
            }
        }

        private static void writeFully(WritableByteChannel out, ByteBuffer b) throws IOException {
            while (b.hasRemaining()) out.write(b);
        }
    }

    // ---- GGUF ----------------------------------------------------------------------------------------------

    private static void writeGguf(Model m, Path src, boolean fromGguf, List<Job> jobs, DType type, Path out, Writer w) {
        long params = jobs.stream().mapToLong(j -> j.src().numel()).sum();
        Gguf g = fromGguf ? Gguf.open(src) : null;
        String name = g != null && g.has("general.name") ? g.getString("general.name") : baseName(src);
        GgufWriter gw = ModelFiles.ggufModel(m.config(), name, params, type);
        ModelFiles.putTokenizer(gw, g != null ? ggufVocab(g, m.tokenizer()) : hfVocab(hfDir(src), m.tokenizer()));
        Map<String, Job> byName = new LinkedHashMap<>();
        for (Job j : jobs) {
            gw.addTensor(j.gguf(), j.dtype(), j.src().shape());
            byName.put(j.gguf(), j);
        }
        gw.write(out, (tensor, ch) -> w.write(byName.get(tensor), ch));
    }

    private static String baseName(Path src) {
        String n = src.getFileName().toString();
        return n.endsWith(".gguf") ? n.substring(0, n.length() - 5) : Files.isDirectory(src) ? n : hfDir(src).getFileName().toString();
    }

    private static Path hfDir(Path src) {
        return Files.isDirectory(src) ? src : src.getParent();
    }

    /** The vocabulary of a GGUF file exactly as stored there; flags and ids as the loaded tokenizer resolved them. */
    private static ModelFiles.TokenizerSpec ggufVocab(Gguf g, Tokenizer tok) {
        String p = "tokenizer.ggml.";
        String[] tokens = g.getStrings(p + "tokens");
        float[] scores = g.has(p + "scores") ? g.getFloats(p + "scores") : new float[tokens.length];
        int[] types = g.has(p + "token_type") ? g.getInts(p + "token_type") : filled(tokens.length, ModelFiles.NORMAL);
        int pad = (int) g.getLong(p + "padding_token_id", tok.pieceId("<pad>"));
        return new ModelFiles.TokenizerSpec(List.of(tokens), scores, types, tok.unkId(), tok.bosId(), tok.eosId(), pad,
                tok.addBos(), tok.addEos(), g.getBool(p + "add_space_prefix", true), g.getBool(p + "remove_extra_whitespaces", false));
    }

    /**
     * The vocabulary of a Hugging Face tokenizer as llama.cpp's converter puts it into GGUF: pieces, scores and
     * types of the tokenizer, then every entry of {@code tokenizer_config.json}'s {@code added_tokens_decoder}
     * with score -1000 and type CONTROL (special) or USER_DEFINED.
     */
    private static ModelFiles.TokenizerSpec hfVocab(Path dir, Tokenizer tok) {
        int n = tok.vocabSize();
        List<String> pieces = new ArrayList<>(n);
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            pieces.add(tok.piece(id));
            scores[id] = tok.score(id);
            types[id] = tok.tokenType(id);
        }
        JsonNode cfg = readJson(dir.resolve("tokenizer_config.json"));
        for (var it = cfg.path("added_tokens_decoder").properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException bad) {
                continue;
            }
            if (id < 0 || id >= n || !pieces.get(id).equals(e.getValue().path("content").asText())) continue;
            scores[id] = -1000f;
            types[id] = e.getValue().path("special").asBoolean(false) ? ModelFiles.CONTROL : ModelFiles.USER_DEFINED;
        }
        int pad = specialId(tok, cfg.path("pad_token"));
        if (pad < 0) pad = specialId(tok, readJson(dir.resolve("special_tokens_map.json")).path("pad_token"));
        if (pad < 0) pad = tok.pieceId("<pad>");
        return new ModelFiles.TokenizerSpec(pieces, scores, types, tok.unkId(), tok.bosId(), tok.eosId(), pad,
                tok.addBos(), tok.addEos(), addsSpacePrefix(tok), removesExtraWhitespace(tok));
    }

    private static int specialId(Tokenizer tok, JsonNode v) {
        if (v.isObject()) v = v.path("content");
        return v.isTextual() ? tok.pieceId(v.asText()) : -1;
    }

    /** Whether encoding puts a "▁" before the first word (SentencePiece's add_dummy_prefix), seen from its output. */
    private static boolean addsSpacePrefix(Tokenizer tok) {
        int[] ids = tok.encode("a");
        if (ids.length == 0) return true;
        String first = tok.piece(ids[0]);
        return first.startsWith("\u2581") || first.equals("<0xE2>"); // "▁" itself, or the first byte of its UTF-8
    }

    /** Whether encoding collapses runs of spaces (SentencePiece's remove_extra_whitespaces), seen from its output. */
    private static boolean removesExtraWhitespace(Tokenizer tok) {
        return Arrays.equals(tok.encode("a  b"), tok.encode("a b"));
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) return new ObjectMapper().createObjectNode();
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }

    // ---- Hugging Face folder -------------------------------------------------------------------------------

    private static final List<String> HF_TOKENIZER_FILES =
            List.of("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

    private static void writeHf(Model m, Path src, boolean fromGguf, List<Job> jobs, DType type, Path out, long maxShard, Writer w) {
        Config c = m.config();
        Map<String, Job> byName = new LinkedHashMap<>();
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        for (Job j : jobs) {
            entries.add(new SafeTensorsWriter.Entry(j.hf(), j.dtype(), j.src().shape()));
            byName.put(j.hf(), j);
        }
        try (AtomicOutput dir = AtomicOutput.directory(out)) {
            Path d = dir.path();
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            try {
                ObjectNode config = ModelFiles.hfConfig(json, c, type);
                config.put("attention_bias", byName.containsKey("model.layers.0.self_attn.q_proj.bias"));
                config.put("mlp_bias", byName.containsKey("model.layers.0.mlp.up_proj.bias"));
                Files.writeString(d.resolve("config.json"), json.writeValueAsString(config) + "\n");
                Files.writeString(d.resolve("generation_config.json"), json.writeValueAsString(ModelFiles.generationConfig(json, c)) + "\n");
                if (fromGguf) {
                    ModelFiles.TokenizerSpec v = ggufVocab(Gguf.open(src), m.tokenizer());
                    ModelFiles.TokenizerSpec sp = sentencePieceTypes(v);
                    Files.write(d.resolve("tokenizer.model"), ModelFiles.sentencePieceModel(sp));
                    Files.writeString(d.resolve("tokenizer_config.json"),
                            json.writeValueAsString(ModelFiles.tokenizerConfig(json, sp, c.maxPositions())) + "\n");
                    Files.writeString(d.resolve("special_tokens_map.json"), json.writeValueAsString(ModelFiles.specialTokens(json, sp)) + "\n");
                } else {
                    for (String f : HF_TOKENIZER_FILES) {
                        Path from = hfDir(src).resolve(f);
                        if (Files.isRegularFile(from)) Files.copy(from, d.resolve(f), StandardCopyOption.COPY_ATTRIBUTES);
                    }
                }
            } catch (IOException e) {
                throw new ModelException(out + ": cannot write (" + e.getMessage() + ")", e);
            }
            SafeTensorsWriter.writeSharded(d, entries, maxShard, (tensor, ch) -> w.write(byName.get(tensor), ch));
            dir.commit();
        }
    }

    /** A GGUF vocabulary as a SentencePiece model has it: the unknown token typed UNKNOWN (llama.cpp marks it CONTROL). */
    private static ModelFiles.TokenizerSpec sentencePieceTypes(ModelFiles.TokenizerSpec v) {
        int[] types = v.types().clone();
        if (v.unkId() >= 0) types[v.unkId()] = ModelFiles.UNKNOWN;
        return new ModelFiles.TokenizerSpec(v.pieces(), v.scores(), types, v.unkId(), v.bosId(), v.eosId(), v.padId(),
                v.addBos(), v.addEos(), v.addSpacePrefix(), v.removeExtraWhitespaces());
    }
}
