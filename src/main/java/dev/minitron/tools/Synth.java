package dev.minitron.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.minitron.io.AtomicOutput;
import dev.minitron.io.GgufWriter;
import dev.minitron.io.ModelException;
import dev.minitron.io.SafeTensorsWriter;
import dev.minitron.model.Config;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import dev.minitron.tensor.Quantize;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * Writes a synthetic NemotronForCausalLM checkpoint of real size and layout, with seeded random weights: for
 * testing loaders and measuring speed and memory on Minitron-8B/4B shapes without downloading 16 GB.
 *
 * <p>What is written matches the real checkpoints (docs/NEMOTRON.md sections 1, 2, 4, 5):
 * <ul>
 *   <li>{@code hf}: a folder with {@code config.json} (the fields of the nvidia configs), {@code generation_config.json},
 *       {@code tokenizer_config.json}, {@code special_tokens_map.json}, a SentencePiece {@code tokenizer.model}
 *       and {@code model.safetensors} (or 5 GB shards plus {@code model.safetensors.index.json}); HF tensor names,
 *       LayerNorm1P weights stored as gamma-1, every tensor in the chosen dtype (F32, F16, BF16).</li>
 *   <li>{@code gguf}: one GGUF v3 file as llama.cpp's converter writes it (architecture {@code nemotron}, the same
 *       metadata keys and types, norm weights with the +1 added, 1-D tensors F32, {@code rope.dimension_count}
 *       = the real rotary dims), 2-D tensors in F32, F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K (all of them, like
 *       {@code llama-quantize --pure}), or in llama.cpp's Q4_K_M mix of Q4_K and Q6_K
 *       ({@link ModelFiles#ggufTensorType}). The k-quants are written by {@link Quantize#q4_K} / {@link Quantize#q6_K},
 *       valid blocks but not {@code llama-quantize}'s error-minimizing choice.</li>
 * </ul>
 *
 * <p>Weights: element (row, col) of a tensor depends only on (seed, HF tensor name, row, col), so the output
 * is byte-identical for a seed whatever the thread count or chunking, and the HF and GGUF files of one seed hold
 * the same model. Every value is exactly representable in bfloat16 (norm weights gamma-1 are multiples of
 * 1/128, so gamma = 1 + w is exact in bf16 too): the F32, BF16 and GGUF F32/BF16 variants of a seed are the same
 * numbers, and F16 is exact wherever the value is in F16's normal range. Scales keep activations finite and
 * logits varied: projections uniform with std 1/sqrt(fan_in), embeddings std 0.02, lm_head std 3/sqrt(H)
 * (logit std about 3), norm gamma-1 in [-6/128, 6/128], biases std 0.02.
 *
 * <p>Memory is bounded: tensors are generated row block by row block (about 4 MB) on all cores while the
 * previous block is written, so a 16.5 GB model needs well under 256 MB of heap. The output is written through
 * {@link AtomicOutput}: an interrupted or failed run leaves nothing at the output path.
 */
public final class Synth {
    private Synth() {}

    /**
     * @param shape    "minitron-8b", "minitron-4b", "tiny", or a path to a config.json
     * @param dtype    F32, F16, BF16 (hf or gguf), Q8_0, Q4_0, Q4_K or Q6_K (gguf)
     * @param format   "hf" (a folder) or "gguf" (a file)
     * @param seed     weights seed
     * @param out      output folder (hf) or file (gguf); must not exist (hf) / is replaced (gguf)
     * @param progress draw a progress bar on the error stream
     * @param mix      with Q4_K: llama.cpp's Q4_K_M mix (some matrices Q6_K, see {@link ModelFiles#ggufTensorType})
     *                 instead of Q4_K everywhere
     */
    public record Options(String shape, DType dtype, String format, long seed, Path out, boolean progress, boolean mix) {
        /** Every matrix in {@code dtype} (no mix). */
        public Options(String shape, DType dtype, String format, long seed, Path out, boolean progress) {
            this(shape, dtype, format, seed, out, progress, false);
        }
    }

    /** Hugging Face's default shard limit ({@code max_shard_size="5GB"}). */
    public static final long HF_MAX_SHARD_BYTES = 5_000_000_000L;
    private static final int CHUNK_BYTES = 4 << 20;

    /** Writes the model that {@code o} describes; progress (if asked for) and nothing else goes to {@code err}. */
    public static void run(Options o, PrintStream err) {
        run(o, err, HF_MAX_SHARD_BYTES, name -> {});
    }

    /** {@link #run(Options, PrintStream)} with a shard limit and a hook called before each tensor (tests). */
    static void run(Options o, PrintStream err, long maxShardBytes, Consumer<String> beforeTensor) {
        if (o.out() == null) throw new ModelException("synth: no output path given");
        String format = o.format() == null ? "" : o.format().toLowerCase(Locale.ROOT);
        DType dtype = o.dtype();
        if (!format.equals("hf") && !format.equals("gguf")) {
            throw new ModelException("synth: format '" + o.format() + "' is not supported (expected hf or gguf)");
        }
        if (dtype == null || !ModelFiles.GGUF_MATRIX_TYPES.contains(dtype)) {
            throw new ModelException("synth: dtype " + dtype + " is not supported (expected F32, F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K)");
        }
        if (o.mix() && dtype != DType.Q4_K) {
            throw new ModelException("synth: the Q4_K_M mix needs dtype Q4_K, not " + dtype);
        }
        String typeName = dtype + (o.mix() ? "_M" : "");
        if (format.equals("hf") && dtype.isQuantized()) {
            throw new ModelException("synth: --format hf holds F32, F16 or BF16 weights, not " + typeName + " (use --format gguf)");
        }
        Config c = shape(o.shape());
        List<Spec> specs = tensors(c);
        if (dtype.isQuantized()) {
            for (Spec s : specs) {
                DType t = ModelFiles.ggufTensorType(dtype, o.mix(), s.gguf, s.shape.length, c.numLayers());
                if (s.cols() % t.blockSize() != 0) {
                    throw new ModelException("synth: " + s.hf + " has rows of " + s.cols() + " values, not a multiple of "
                            + t.blockSize() + " as " + t + (t == dtype ? "" : " (in " + typeName + ")") + " needs");
                }
            }
        }
        if (c.vocabSize() < Vocab.MIN_SIZE) {
            throw new ModelException("synth: vocab_size " + c.vocabSize() + " is too small for the synthetic tokenizer (at least "
                    + Vocab.MIN_SIZE + ")");
        }
        Vocab vocab = Vocab.build(c.vocabSize());
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "synth-worker");
            t.setDaemon(true);
            return t;
        });
        try {
            Generator gen = new Generator(o.seed(), pool, threads, beforeTensor);
            if (format.equals("hf")) writeHf(c, specs, dtype, vocab, gen, o, err, maxShardBytes);
            else writeGguf(c, specs, dtype, vocab, gen, o, err);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The preset shapes (docs/NEMOTRON.md section 1), or the config.json at path {@code name}. */
    public static Config shape(String name) {
        if (name == null) throw new ModelException("synth: no shape given (minitron-8b, minitron-4b, tiny or a config.json path)");
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "minitron-8b" -> new Config(Config.NEMOTRON, 4096, 16384, 32, 48, 8, 128, 64, 256000, 4096, 1e-5f, 10000f, 1f, 2, 3);
            case "minitron-4b" -> new Config(Config.NEMOTRON, 3072, 9216, 32, 24, 8, 128, 64, 256000, 4096, 1e-5f, 10000f, 1f, 2, 3);
            // small everywhere except the vocabulary, so the tokenizer and embedding tables are the real size
            case "tiny" -> new Config(Config.NEMOTRON, 64, 256, 2, 4, 2, 16, 8, 256000, 4096, 1e-5f, 10000f, 1f, 2, 3);
            default -> {
                Path p = Path.of(name);
                if (!Files.isRegularFile(p)) {
                    throw new ModelException("synth: unknown shape '" + name + "' (expected minitron-8b, minitron-4b, tiny or a config.json path)");
                }
                yield Config.fromHfJson(p);
            }
        };
    }

    /** Minimal command line: {@code Synth <shape> <dtype> <hf|gguf> <seed> <out> [--progress]}. */
    public static void main(String[] args) {
        if (args.length < 5) {
            System.err.println("usage: Synth <minitron-8b|minitron-4b|tiny|config.json> <F32|F16|BF16|Q8_0|Q4_0|Q4_K|Q6_K|Q4_K_M> <hf|gguf> <seed> <out> [--progress]");
            System.exit(2);
        }
        try {
            DType t;
            String name = args[1].toUpperCase(Locale.ROOT);
            boolean mix = name.equals("Q4_K_M");
            try {
                t = mix ? DType.Q4_K : DType.valueOf(name);
            } catch (IllegalArgumentException e) {
                throw new ModelException("synth: unknown dtype '" + args[1] + "'");
            }
            long seed;
            try {
                seed = Long.parseLong(args[3]);
            } catch (NumberFormatException e) {
                throw new ModelException("synth: seed '" + args[3] + "' is not an integer");
            }
            run(new Options(args[0], t, args[2], seed, Path.of(args[4]), args.length > 5 && args[5].equals("--progress"), mix), System.err);
        } catch (ModelException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }

    // ---- tensors -------------------------------------------------------------------------------------------

    private enum Kind { EMBED, PROJ, LM_HEAD, NORM_W, NORM_B }

    /** One tensor: HF and GGUF names, PyTorch shape, how its values are drawn. */
    private record Spec(String hf, String gguf, long[] shape, Kind kind) {
        int cols() { return (int) shape[shape.length - 1]; }

        int rows() { return shape.length == 1 ? 1 : (int) shape[0]; }

        long numel() { return (long) rows() * cols(); }
    }

    /** All tensors of the checkpoint in HF state-dict order (docs/NEMOTRON.md sections 2 and 4). */
    private static List<Spec> tensors(Config c) {
        long h = c.hiddenSize(), v = c.vocabSize(), q = c.qDim(), kv = c.kvDim(), ff = c.intermediateSize();
        List<Spec> s = new ArrayList<>();
        s.add(new Spec("model.embed_tokens.weight", "token_embd.weight", new long[] {v, h}, Kind.EMBED));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".", g = "blk." + i + ".";
            s.add(new Spec(p + "input_layernorm.weight", g + "attn_norm.weight", new long[] {h}, Kind.NORM_W));
            s.add(new Spec(p + "input_layernorm.bias", g + "attn_norm.bias", new long[] {h}, Kind.NORM_B));
            s.add(new Spec(p + "self_attn.q_proj.weight", g + "attn_q.weight", new long[] {q, h}, Kind.PROJ));
            s.add(new Spec(p + "self_attn.k_proj.weight", g + "attn_k.weight", new long[] {kv, h}, Kind.PROJ));
            s.add(new Spec(p + "self_attn.v_proj.weight", g + "attn_v.weight", new long[] {kv, h}, Kind.PROJ));
            s.add(new Spec(p + "self_attn.o_proj.weight", g + "attn_output.weight", new long[] {h, q}, Kind.PROJ));
            s.add(new Spec(p + "post_attention_layernorm.weight", g + "ffn_norm.weight", new long[] {h}, Kind.NORM_W));
            s.add(new Spec(p + "post_attention_layernorm.bias", g + "ffn_norm.bias", new long[] {h}, Kind.NORM_B));
            s.add(new Spec(p + "mlp.up_proj.weight", g + "ffn_up.weight", new long[] {ff, h}, Kind.PROJ));
            s.add(new Spec(p + "mlp.down_proj.weight", g + "ffn_down.weight", new long[] {h, ff}, Kind.PROJ));
        }
        s.add(new Spec("model.norm.weight", "output_norm.weight", new long[] {h}, Kind.NORM_W));
        s.add(new Spec("model.norm.bias", "output_norm.bias", new long[] {h}, Kind.NORM_B));
        s.add(new Spec("lm_head.weight", "output.weight", new long[] {v, h}, Kind.LM_HEAD));
        return s;
    }

    /** A tensor as one format stores it: dtype, and whether the LayerNorm1P +1 is folded in (GGUF). */
    private record Job(Spec spec, DType dtype, boolean plusOne) {
        long bytes() { return dtype.bytesFor(spec.numel()); }
    }

    // ---- HF folder -----------------------------------------------------------------------------------------

    private static void writeHf(Config c, List<Spec> specs, DType dtype, Vocab vocab, Generator gen, Options o,
                                PrintStream err, long maxShardBytes) {
        Map<String, Job> jobs = new LinkedHashMap<>();
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        for (Spec s : specs) {
            jobs.put(s.hf, new Job(s, dtype, false));
            entries.add(new SafeTensorsWriter.Entry(s.hf, dtype, s.shape));
        }
        long total = jobs.values().stream().mapToLong(Job::bytes).sum();
        Progress bar = new Progress(err, "writing " + o.out().toAbsolutePath().getFileName(), total, o.progress());
        try (AtomicOutput dir = AtomicOutput.directory(o.out())) {
            Path d = dir.path();
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            try {
                Files.writeString(d.resolve("config.json"), json.writeValueAsString(ModelFiles.hfConfig(json, c, dtype)) + "\n");
                Files.writeString(d.resolve("generation_config.json"), json.writeValueAsString(ModelFiles.generationConfig(json, c)) + "\n");
                Files.writeString(d.resolve("tokenizer_config.json"),
                        json.writeValueAsString(ModelFiles.tokenizerConfig(json, vocab.sentencePiece(), c.maxPositions())) + "\n");
                Files.writeString(d.resolve("special_tokens_map.json"), json.writeValueAsString(ModelFiles.specialTokens(json, vocab.sentencePiece())) + "\n");
                Files.write(d.resolve("tokenizer.model"), ModelFiles.sentencePieceModel(vocab.sentencePiece()));
            } catch (IOException e) {
                throw new ModelException(o.out() + ": cannot write (" + e.getMessage() + ")", e);
            }
            SafeTensorsWriter.writeSharded(d, entries, maxShardBytes, (name, out) -> gen.write(jobs.get(name), out, bar));
            dir.commit();
        }
        bar.finish();
    }

    /** rotary/head_dim as written to config.json (see {@link ModelFiles#partialRotaryFactor}). */
    static double partialRotaryFactor(Config c) {
        return ModelFiles.partialRotaryFactor(c);
    }

    // ---- GGUF file -----------------------------------------------------------------------------------------

    private static void writeGguf(Config c, List<Spec> specs, DType dtype, Vocab vocab, Generator gen, Options o, PrintStream err) {
        long params = specs.stream().mapToLong(Spec::numel).sum();
        GgufWriter w = ModelFiles.ggufModel(c, "Minitron Synthetic " + label(o.shape()), params, dtype);
        ModelFiles.putTokenizer(w, vocab.gguf());
        Map<String, Job> jobs = new LinkedHashMap<>();
        for (Spec s : specs) {
            DType t = ModelFiles.ggufTensorType(dtype, o.mix(), s.gguf, s.shape.length, c.numLayers());
            jobs.put(s.gguf, new Job(s, t, s.kind == Kind.NORM_W));
            w.addTensor(s.gguf, t, s.shape);
        }
        long total = jobs.values().stream().mapToLong(Job::bytes).sum();
        Progress bar = new Progress(err, "writing " + o.out().toAbsolutePath().getFileName(), total, o.progress());
        w.write(o.out(), (name, out) -> gen.write(jobs.get(name), out, bar));
        bar.finish();
    }

    private static String label(String shape) {
        String s = Path.of(shape).getFileName().toString();
        return s.endsWith(".json") ? "custom" : s;
    }

    // ---- weights -------------------------------------------------------------------------------------------

    /** Draws tensors row block by row block on a pool while the previous block is written. */
    private static final class Generator {
        private final long seed;
        private final ExecutorService pool;
        private final int threads;
        private final Consumer<String> beforeTensor;
        private final ByteBuffer[] buffers = {
                ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN),
                ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN)};

        Generator(long seed, ExecutorService pool, int threads, Consumer<String> beforeTensor) {
            this.seed = seed;
            this.pool = pool;
            this.threads = threads;
            this.beforeTensor = beforeTensor;
        }

        void write(Job job, WritableByteChannel out, Progress bar) throws IOException {
            beforeTensor.accept(job.spec.hf);
            int rows = job.spec.rows();
            int rowBytes = Math.toIntExact(job.dtype.bytesFor(job.spec.cols()));
            if (rowBytes > CHUNK_BYTES) throw new IllegalStateException(job.spec.hf + ": a row of " + rowBytes + " bytes exceeds the chunk");
            int perChunk = Math.max(1, CHUNK_BYTES / rowBytes);
            int chunks = (rows + perChunk - 1) / perChunk;
            CompletableFuture<Void> pending = fill(job, 0, Math.min(rows, perChunk), buffers[0], rowBytes);
            for (int k = 0; k < chunks; k++) {
                int r0 = k * perChunk, n = Math.min(perChunk, rows - r0);
                await(pending);
                if (Thread.currentThread().isInterrupted()) throw new ModelException("synth: interrupted");
                if (k + 1 < chunks) {
                    int r1 = r0 + n;
                    pending = fill(job, r1, Math.min(perChunk, rows - r1), buffers[(k + 1) % 2], rowBytes);
                }
                ByteBuffer b = buffers[k % 2].duplicate().position(0).limit(n * rowBytes);
                while (b.hasRemaining()) out.write(b);
                bar.advance((long) n * rowBytes);
            }
        }

        /** Fills rows [r0, r0+n) into {@code buf}, split over the pool. */
        private CompletableFuture<Void> fill(Job job, int r0, int n, ByteBuffer buf, int rowBytes) {
            int parts = Math.min(threads, n);
            CompletableFuture<?>[] fs = new CompletableFuture<?>[parts];
            for (int p = 0; p < parts; p++) {
                int a = r0 + (int) ((long) n * p / parts), b = r0 + (int) ((long) n * (p + 1) / parts);
                fs[p] = CompletableFuture.runAsync(() -> {
                    float[] row = new float[job.spec.cols()];
                    for (int r = a; r < b; r++) {
                        values(job.spec, seed, r, row);
                        if (job.plusOne) for (int i = 0; i < row.length; i++) row[i] += 1f;
                        Quantize.encode(job.dtype, row, 0, row.length, buf, (r - r0) * rowBytes);
                    }
                }, pool);
            }
            return CompletableFuture.allOf(fs);
        }

        private static void await(CompletableFuture<Void> f) throws IOException {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ModelException("synth: interrupted");
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) throw re;
                if (e.getCause() instanceof Error er) throw er;
                throw new IOException(e.getCause());
            }
        }
    }

    /**
     * The values of row {@code row} of tensor {@code s}: a function of (seed, HF name, row) only, every value
     * exactly representable in bfloat16.
     */
    static void values(Spec s, long seed, int row, float[] out) {
        SplittableRandom rng = new SplittableRandom(mix(mix(seed ^ fnv64(s.hf)) + row * 0x9E3779B97F4A7C15L));
        if (s.kind == Kind.NORM_W) {
            // gamma - 1 in {-6/128 .. 6/128}: both w and 1 + w are exact in bf16
            for (int i = 0; i < out.length; i++) out[i] = (rng.nextInt(13) - 6) / 128f;
            return;
        }
        double std = switch (s.kind) {
            case EMBED, NORM_B -> 0.02;
            case PROJ -> 1 / Math.sqrt(s.cols());
            case LM_HEAD -> 3 / Math.sqrt(s.cols());
            default -> throw new IllegalStateException();
        };
        float a = (float) (std * Math.sqrt(3)); // uniform on [-a, a) has std a/sqrt(3)
        for (int i = 0; i < out.length; i += 2) {
            long bits = rng.nextLong();
            out[i] = bf16Round(((bits >>> 40) * 0x1p-23f - 1f) * a);
            if (i + 1 < out.length) out[i + 1] = bf16Round((((bits >>> 16) & 0xFFFFFF) * 0x1p-23f - 1f) * a);
        }
    }

    private static float bf16Round(float v) {
        return Float.intBitsToFloat(Dequant.toBf16(v) << 16);
    }

    /** Stafford's mix13 finalizer: spreads nearby seeds over the whole 64-bit space. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** FNV-1a over the UTF-8 bytes: a stable 64-bit hash of a tensor name. */
    static long fnv64(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001B3L;
        }
        return h;
    }

    // ---- tokenizer -----------------------------------------------------------------------------------------

    /**
     * A synthetic SentencePiece BPE vocabulary laid out like Nemotron's: {@code <pad> <unk> <s> </s>}, the 256
     * byte-fallback pieces {@code <0x00>..<0xFF>}, merged pieces with scores 0, -1, -2, ... and the single
     * characters last (as spm_train orders a BPE model).
     *
     * <p>Merged pieces are enumerated cheapest first under a per-character cost (English letter frequencies,
     * "▁" cheap, capitals after "▁" only and dearer): a piece's prefix always costs less, so it is in the vocabulary
     * with a higher score, and every piece can be reached by merges of pieces and characters of the vocabulary.
     * Digits and punctuation stay single characters (split_digits). Independent of the seed: one tokenizer per
     * vocabulary size, like the real models.
     */
    static final class Vocab {
        static final String[] SPECIALS = {"<pad>", "<unk>", "<s>", "</s>"};
        static final int PAD = 0, UNK = 1;
        static final int NORMAL = ModelFiles.NORMAL, UNKNOWN = ModelFiles.UNKNOWN, CONTROL = ModelFiles.CONTROL, BYTE = ModelFiles.BYTE;
        private static final String LOWER = "etaoinshrdlcumwfgypbvkjxqz";
        // relative frequencies (per mille) of LOWER's letters in English text
        private static final double[] FREQ = {127, 91, 82, 75, 70, 67, 63, 61, 60, 43, 40, 28, 28, 24, 24, 22, 20, 20, 19, 15, 9.8, 7.7, 1.5, 1.5, 0.95, 0.74};
        private static final String SPACE = "\u2581";
        private static final String SINGLES_EXTRA = "0123456789.,'\"-:;!?()[]{}<>/\\|@#$%^&*_+=~`"
                + "àáâäãåçèéêëìíîïñòóôöõùúûüýÿßæœøÀÉÖÜÇ"
                + "αβγδεζηθικλμνξοπρστυφχψω"
                + "абвгдежзийклмнопрстуфхцчшщъыьэюя"
                + "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年";
        static final int MIN_SIZE = 4 + 256 + 1 + 26 + 26 + 16;

        private final List<String> pieces;
        private final float[] scores;
        private final int[] types;

        private Vocab(List<String> pieces, float[] scores, int[] types) {
            this.pieces = pieces;
            this.scores = scores;
            this.types = types;
        }

        List<String> pieces() { return pieces; }

        static Vocab build(int size) {
            List<String> singles = new ArrayList<>();
            singles.add(SPACE);
            for (char ch : LOWER.toCharArray()) singles.add(String.valueOf(ch));
            for (char ch : LOWER.toCharArray()) singles.add(String.valueOf(Character.toUpperCase(ch)));
            SINGLES_EXTRA.codePoints().forEach(cp -> singles.add(Character.toString(cp)));
            int fixed = 4 + 256;
            int nSingles = Math.min(singles.size(), size - fixed - 16);
            int nMerged = size - fixed - nSingles;
            List<String> pieces = new ArrayList<>(size);
            float[] scores = new float[size];
            int[] types = new int[size];
            for (int i = 0; i < 4; i++) {
                pieces.add(SPECIALS[i]);
                types[i] = i == UNK ? UNKNOWN : CONTROL;
            }
            for (int b = 0; b < 256; b++) {
                pieces.add(String.format("<0x%02X>", b));
                types[4 + b] = BYTE;
            }
            int id = fixed;
            for (String p : merged(nMerged)) {
                pieces.add(p);
                scores[id] = -(id - fixed);
                types[id++] = NORMAL;
            }
            for (String p : singles.subList(0, nSingles)) {
                pieces.add(p);
                scores[id] = -(id - fixed);
                types[id++] = NORMAL;
            }
            return new Vocab(List.copyOf(pieces), scores, types);
        }

        /** A queued candidate: {@code parent + next[index]} with its cost. */
        private record Cand(String parent, int index, String piece, double cost) {}

        /** The {@code n} cheapest multi-character pieces, cheapest first (a best-first walk of the prefix tree). */
        private static List<String> merged(int n) {
            double[] lowerCost = new double[26];
            for (int i = 0; i < 26; i++) lowerCost[i] = -Math.log(FREQ[i] / 1000);
            // continuations: lower-case letters (sorted by cost), and after "▁" also capitals (cost + 2.5)
            List<String> lower = new ArrayList<>();
            List<Double> lowerC = new ArrayList<>();
            for (int i = 0; i < 26; i++) {
                lower.add(String.valueOf(LOWER.charAt(i)));
                lowerC.add(lowerCost[i]);
            }
            List<String> afterSpace = new ArrayList<>(lower);
            List<Double> afterSpaceC = new ArrayList<>(lowerC);
            for (int i = 0; i < 26; i++) {
                afterSpace.add(String.valueOf(Character.toUpperCase(LOWER.charAt(i))));
                afterSpaceC.add(lowerCost[i] + 2.5);
            }
            sortByCost(afterSpace, afterSpaceC);
            Map<String, Double> rootCost = new LinkedHashMap<>();
            rootCost.put(SPACE, 1.7);
            for (int i = 0; i < 26; i++) rootCost.put(lower.get(i), lowerC.get(i));
            for (int i = 0; i < 26; i++) rootCost.put(lower.get(i).toUpperCase(Locale.ROOT), lowerC.get(i) + 3.0);

            PriorityQueue<Cand> queue = new PriorityQueue<>((x, y) -> x.cost != y.cost ? Double.compare(x.cost, y.cost) : x.piece.compareTo(y.piece));
            for (var r : rootCost.entrySet()) {
                boolean space = r.getKey().equals(SPACE);
                queue.add(child(r.getKey(), 0, r.getValue(), space ? afterSpace : lower, space ? afterSpaceC : lowerC));
            }
            List<String> out = new ArrayList<>(n);
            while (out.size() < n) {
                Cand c = queue.poll();
                if (c == null) throw new IllegalStateException("alphabet exhausted");
                out.add(c.piece);
                boolean parentIsSpace = c.parent.equals(SPACE);
                List<String> sibs = parentIsSpace ? afterSpace : lower;
                List<Double> sibC = parentIsSpace ? afterSpaceC : lowerC;
                double parentCost = c.cost - sibC.get(c.index);
                if (c.index + 1 < sibs.size()) queue.add(child(c.parent, c.index + 1, parentCost, sibs, sibC));
                queue.add(child(c.piece, 0, c.cost + 0.3, lower, lowerC)); // + 0.3 per character: shorter first
            }
            return out;
        }

        private static Cand child(String parent, int index, double parentCost, List<String> next, List<Double> nextCost) {
            return new Cand(parent, index, parent + next.get(index), parentCost + nextCost.get(index));
        }

        private static void sortByCost(List<String> s, List<Double> c) {
            Integer[] idx = new Integer[s.size()];
            for (int i = 0; i < idx.length; i++) idx[i] = i;
            Arrays.sort(idx, (x, y) -> Double.compare(c.get(x), c.get(y)));
            List<String> s2 = new ArrayList<>();
            List<Double> c2 = new ArrayList<>();
            for (int i : idx) {
                s2.add(s.get(i));
                c2.add(c.get(i));
            }
            s.clear();
            s.addAll(s2);
            c.clear();
            c.addAll(c2);
        }

        /** Scores as llama.cpp's converter writes them: -1000 for the added special tokens 0..3. */
        float[] ggufScores() {
            float[] s = scores.clone();
            for (int i = 0; i < 4; i++) s[i] = -1000f;
            return s;
        }

        /** Token types as llama.cpp's converter writes them: the added specials 0..3 all CONTROL. */
        int[] ggufTypes() {
            int[] t = types.clone();
            for (int i = 0; i < 4; i++) t[i] = CONTROL;
            return t;
        }

        /** The vocabulary as {@code tokenizer.model} and {@code tokenizer_config.json} describe it. */
        ModelFiles.TokenizerSpec sentencePiece() {
            return spec(scores, types);
        }

        /** The vocabulary as llama.cpp's converter writes it into a GGUF file. */
        ModelFiles.TokenizerSpec gguf() {
            return spec(ggufScores(), ggufTypes());
        }

        private ModelFiles.TokenizerSpec spec(float[] s, int[] t) {
            return new ModelFiles.TokenizerSpec(pieces, s, t, UNK, 2, 3, PAD, true, false, true, false);
        }
    }
}
