package dev.minitron.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.io.ModelException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The hyper-parameters of a NemotronForCausalLM model, whatever file they came from (HF {@code config.json}
 * or GGUF {@code nemotron.*} metadata). Field meanings: {@code docs/NEMOTRON.md} section 1.
 *
 * @param rotaryDim number of leading dims of each head that RoPE rotates: {@code int(headDim * partialRotaryFactor)}
 * @param ropeScale linear rope scaling factor (positions are divided by it); 1 when absent
 */
public record Config(
        String architecture,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int rotaryDim,
        int vocabSize,
        int maxPositions,
        float normEps,
        float ropeTheta,
        float ropeScale,
        int bosId,
        int eosId) {

    public static final String NEMOTRON = "NemotronForCausalLM";

    public Config {
        check(hiddenSize > 0, "hidden_size must be positive, got " + hiddenSize);
        check(intermediateSize > 0, "intermediate_size must be positive, got " + intermediateSize);
        check(numLayers > 0, "num_hidden_layers must be positive, got " + numLayers);
        check(numHeads > 0 && numKvHeads > 0, "num_attention_heads (" + numHeads + ") and num_key_value_heads ("
                + numKvHeads + ") must be positive");
        check(numHeads % numKvHeads == 0, "num_attention_heads (" + numHeads + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        check(headDim > 0, "head_dim must be positive, got " + headDim);
        check(rotaryDim >= 0 && rotaryDim <= headDim && rotaryDim % 2 == 0,
                "rotary dims (" + rotaryDim + ") must be even and at most head_dim (" + headDim + ")");
        check(vocabSize > 0, "vocab_size must be positive, got " + vocabSize);
        check(maxPositions > 0, "max_position_embeddings must be positive, got " + maxPositions);
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new ModelException("config: " + what);
    }

    /** Width of the concatenated query heads (may differ from hiddenSize: Minitron-8B has 48*128 = 6144 vs 4096). */
    public int qDim() { return numHeads * headDim; }

    /** Width of the concatenated key (or value) heads. */
    public int kvDim() { return numKvHeads * headDim; }

    /** Query heads that share one KV head. */
    public int groupSize() { return numHeads / numKvHeads; }

    /** Reads a Hugging Face {@code config.json}. Accepts the older {@code kv_channels}/{@code rope_percent} names. */
    public static Config fromHfJson(Path file) {
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(Files.readString(file));
        } catch (IOException e) {
            throw new ModelException(file + ": cannot read config (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (n == null || !n.isObject()) throw new ModelException(file + ": not a JSON object");
        String arch = n.path("architectures").path(0).asText(n.path("model_type").asText(""));
        if ("nemotron".equals(arch)) arch = NEMOTRON;
        if (!NEMOTRON.equals(arch)) {
            throw new ModelException(file + ": architecture '" + arch + "' is not supported (expected " + NEMOTRON + ")");
        }
        String act = n.path("hidden_act").asText("relu2");
        if (!"relu2".equals(act)) throw new ModelException(file + ": hidden_act '" + act + "' is not supported (expected relu2)");
        int hidden = req(n, file, "hidden_size");
        int heads = req(n, file, "num_attention_heads");
        if (heads <= 0) throw new ModelException(file + ": 'num_attention_heads' must be positive, got " + heads);
        int kvHeads = n.hasNonNull("num_key_value_heads") ? n.get("num_key_value_heads").asInt() : heads;
        int headDim = n.hasNonNull("head_dim") ? n.get("head_dim").asInt()
                : n.hasNonNull("kv_channels") ? n.get("kv_channels").asInt() : hidden / heads;
        double partial = firstDouble(n, 0.5, "partial_rotary_factor", "rope_percent", "rope_percentage", "rope_pct");
        JsonNode rp = n.path("rope_parameters");
        if (rp.hasNonNull("partial_rotary_factor") && !n.hasNonNull("partial_rotary_factor")) {
            partial = rp.get("partial_rotary_factor").asDouble();
        }
        double theta = n.hasNonNull("rope_theta") ? n.get("rope_theta").asDouble() : rp.path("rope_theta").asDouble(10000.0);
        float scale = 1f;
        JsonNode rs = n.path("rope_scaling");
        if (rs.isObject()) {
            String type = rs.path("type").asText(rs.path("rope_type").asText("linear"));
            if (!"linear".equals(type) && !"default".equals(type)) {
                throw new ModelException(file + ": rope_scaling type '" + type + "' is not supported (linear only)");
            }
            if ("linear".equals(type)) scale = (float) rs.path("factor").asDouble(1.0);
        }
        int intermediate = req(n, file, "intermediate_size"), layers = req(n, file, "num_hidden_layers");
        int vocab = req(n, file, "vocab_size");
        try {
            return new Config(NEMOTRON, hidden, intermediate, layers,
                    heads, kvHeads, headDim, (int) (headDim * partial), vocab,
                    n.path("max_position_embeddings").asInt(4096),
                    (float) firstDouble(n, 1e-5, "norm_eps", "layer_norm_eps", "layernorm_epsilon"),
                    (float) theta, scale, n.path("bos_token_id").asInt(2), n.path("eos_token_id").asInt(3));
        } catch (ModelException e) {
            throw named(file, e);
        }
    }

    /** A consistency error of the constructor ("config: ..."), re-thrown naming the file the values came from. */
    public static ModelException named(Path file, ModelException e) {
        String m = e.getMessage();
        return new ModelException(file + ": " + (m.startsWith("config: ") ? m.substring("config: ".length()) : m), e);
    }

    private static int req(JsonNode n, Path file, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToInt()) throw new ModelException(file + ": '" + key + "' is missing or not an integer");
        return v.asInt();
    }

    private static double firstDouble(JsonNode n, double dflt, String... keys) {
        for (String k : keys) if (n.hasNonNull(k)) return n.get(k).asDouble();
        return dflt;
    }
}
