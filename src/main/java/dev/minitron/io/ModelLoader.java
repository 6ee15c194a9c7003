package dev.minitron.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.model.Config;
import dev.minitron.model.Model;
import dev.minitron.model.Weights;
import dev.minitron.tensor.Tensor;
import dev.minitron.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Opens what users download: a Hugging Face model folder ({@code config.json}, tokenizer files, and weights as
 * {@code model.safetensors}, sharded safetensors with {@code model.safetensors.index.json}, or the legacy
 * {@code pytorch_model*.bin}) or a single {@code .gguf} file. Everything is validated before use; any problem is
 * a {@link ModelException} naming the file and what was expected.
 */
public final class ModelLoader {
    private ModelLoader() {}

    public static Model load(Path path) {
        if (!Files.exists(path)) throw new ModelException(path + ": no such file or folder");
        if (Files.isDirectory(path)) return loadHf(path);
        String name = path.getFileName().toString();
        if (name.endsWith(".gguf")) return loadGguf(path);
        if (name.equals("config.json") || name.endsWith(".safetensors") || name.endsWith(".bin")) {
            return loadHf(path.toAbsolutePath().getParent());
        }
        throw new ModelException(path + ": expected a Hugging Face model folder or a .gguf file");
    }

    // ---------------------------------------------------------------- Hugging Face folder

    static Model loadHf(Path dir) {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) throw new ModelException(dir + ": no config.json (expected a Hugging Face model folder)");
        Config c = Config.fromHfJson(cfgFile);
        Map<String, Tensor> tensors;
        String format;
        if (Files.exists(dir.resolve("model.safetensors.index.json"))) {
            tensors = readSharded(dir, dir.resolve("model.safetensors.index.json"), true);
            format = "safetensors (sharded)";
        } else if (Files.exists(dir.resolve("model.safetensors"))) {
            tensors = SafeTensors.read(dir.resolve("model.safetensors"));
            format = "safetensors";
        } else if (Files.exists(dir.resolve("pytorch_model.bin.index.json"))) {
            tensors = readSharded(dir, dir.resolve("pytorch_model.bin.index.json"), false);
            format = "pytorch .bin (sharded)";
        } else if (Files.exists(dir.resolve("pytorch_model.bin"))) {
            tensors = TorchCheckpoint.read(dir.resolve("pytorch_model.bin"));
            format = "pytorch .bin";
        } else {
            throw new ModelException(dir + ": no weights found (expected model.safetensors, model.safetensors.index.json, "
                    + "pytorch_model.bin or pytorch_model.bin.index.json)");
        }
        Weights w = Weights.from(c, tensors, false, dir.toString());
        Tokenizer tok = Tokenizer.fromHfFolder(dir);
        checkVocab(c, tok, dir.toString());
        return new Model(c, w, tok, dir.toString(), format, tensors, List.of());
    }

    /** Reads every shard named by an index file's {@code weight_map} and checks each tensor is where the index says. */
    static Map<String, Tensor> readSharded(Path dir, Path index, boolean safetensors) {
        JsonNode map;
        try {
            map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new ModelException(index + ": not valid JSON");
        }
        if (!map.isObject() || map.isEmpty()) throw new ModelException(index + ": no weight_map");
        Set<String> shards = new LinkedHashSet<>();
        for (JsonNode v : map) shards.add(v.asText());
        Map<String, Tensor> all = new LinkedHashMap<>();
        Map<String, String> where = new LinkedHashMap<>();
        for (String shard : shards) {
            if (shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                throw new ModelException(index + ": shard name '" + shard + "' must be a plain file name in the folder");
            }
            Path f = dir.resolve(shard);
            if (!Files.exists(f)) throw new ModelException(index + ": names shard '" + shard + "', which is not in the folder");
            Map<String, Tensor> part = safetensors ? SafeTensors.read(f) : TorchCheckpoint.read(f);
            for (var e : part.entrySet()) {
                if (all.put(e.getKey(), e.getValue()) != null) {
                    throw new ModelException(f + ": tensor '" + e.getKey() + "' also appears in " + where.get(e.getKey()));
                }
                where.put(e.getKey(), shard);
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().asText().equals(where.get(e.getKey()))) {
                throw new ModelException(index + ": tensor '" + e.getKey() + "' is listed in " + e.getValue().asText()
                        + " but that shard does not contain it");
            }
        }
        return all;
    }

    // ---------------------------------------------------------------- GGUF

    static Model loadGguf(Path file) {
        Gguf g = Gguf.open(file);
        String arch = g.has("general.architecture") ? g.getString("general.architecture") : "(none)";
        if (!arch.equals("nemotron")) {
            throw new ModelException(file + ": architecture '" + arch + "' is not supported (expected nemotron)");
        }
        List<String> warnings = new ArrayList<>();
        String p = "nemotron.";
        int hidden = (int) g.getLong(p + "embedding_length");
        int heads = (int) g.getLong(p + "attention.head_count");
        if (heads <= 0) throw new ModelException(file + ": " + p + "attention.head_count must be positive, got " + heads);
        int kvHeads = (int) g.getLong(p + "attention.head_count_kv", heads);
        int headDim = (int) g.getLong(p + "attention.key_length", hidden / heads);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : g.tensors().entrySet()) {
            String hf = Weights.hfName(e.getKey());
            if (hf == null) {
                warnings.add(file + ": ignoring unknown tensor '" + e.getKey() + "'");
                continue;
            }
            tensors.put(hf, e.getValue());
        }
        Tensor q = tensors.get("model.layers.0.self_attn.q_proj.weight");
        if (!g.has(p + "attention.key_length") && q != null && q.shape().length == 2 && q.shape()[0] % heads == 0) {
            headDim = (int) (q.shape()[0] / heads); // older files: take head_dim from q_proj's shape
        }
        int rot = rotaryDims(g, file, hidden, heads, headDim, warnings);
        Tensor embed = tensors.get("model.embed_tokens.weight");
        int vocab = (int) g.getLong(p + "vocab_size", g.has("tokenizer.ggml.tokens") ? g.getStrings("tokenizer.ggml.tokens").length
                : embed != null ? embed.rows() : 0);
        float scale = 1f;
        if (g.has(p + "rope.scaling.type")) {
            String type = g.getString(p + "rope.scaling.type");
            if (type.equals("linear")) scale = (float) g.getDouble(p + "rope.scaling.factor", 1.0);
            else if (!type.equals("none")) throw new ModelException(file + ": rope scaling '" + type + "' is not supported (linear only)");
        }
        double eps = g.getDouble(p + "attention.layer_norm_epsilon", g.getDouble(p + "attention.layer_norm_rms_epsilon", 1e-5));
        Config c;
        try {
            c = new Config(Config.NEMOTRON, hidden, (int) g.getLong(p + "feed_forward_length"), (int) g.getLong(p + "block_count"),
                    heads, kvHeads, headDim, rot, vocab, (int) g.getLong(p + "context_length", 4096), (float) eps,
                    (float) g.getDouble(p + "rope.freq_base", 10000.0), scale,
                    (int) g.getLong("tokenizer.ggml.bos_token_id", 2), (int) g.getLong("tokenizer.ggml.eos_token_id", 3));
        } catch (ModelException e) {
            throw Config.named(file, e);
        }
        Weights w = Weights.from(c, tensors, true, file.toString());
        if (!g.has("tokenizer.ggml.tokens")) throw new ModelException(file + ": no tokenizer in the GGUF metadata (tokenizer.ggml.tokens)");
        Tokenizer tok = Tokenizer.fromGguf(g.metadata(), file.toString());
        checkVocab(c, tok, file.toString());
        return new Model(c, w, tok, file.toString(), "gguf v" + g.version(), tensors, List.copyOf(warnings));
    }

    /**
     * The number of rotated dims per head. llama.cpp's converter computes it as
     * {@code int(partial_rotary_factor * hidden_size) // n_head}, which is wrong whenever
     * {@code n_head * head_dim != hidden_size} (Minitron-8B: 42 instead of 64). Such a value is recognised and
     * replaced by {@code head_dim * 0.5} (Minitron's factor), with a warning.
     */
    static int rotaryDims(Gguf g, Path file, int hidden, int heads, int headDim, List<String> warnings) {
        String key = "nemotron.rope.dimension_count";
        if (!g.has(key)) return headDim / 2;
        int n = (int) g.getLong(key);
        int converterBug = (hidden / 2) / heads;
        if (heads * headDim != hidden && n == converterBug && n != headDim / 2) {
            warnings.add(file + ": " + key + " = " + n + " was computed from hidden_size by llama.cpp's converter; using head_dim x 0.5 = "
                    + headDim / 2);
            return headDim / 2;
        }
        if (n <= 0 || n > headDim || n % 2 != 0) {
            throw new ModelException(file + ": " + key + " = " + n + " is not an even number of dims within head_dim " + headDim);
        }
        return n;
    }

    private static void checkVocab(Config c, Tokenizer tok, String source) {
        if (tok.vocabSize() > c.vocabSize()) {
            throw new ModelException(source + ": tokenizer has " + tok.vocabSize() + " pieces but the model's vocabulary is " + c.vocabSize());
        }
    }
}
