package dev.minitron.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.minitron.io.GgufWriter;
import dev.minitron.model.Config;
import dev.minitron.tensor.DType;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The non-tensor parts of the model files that {@link Synth} and {@link Convert} write, in one place so both
 * produce the same metadata (docs/NEMOTRON.md sections 1, 4 and 5):
 * <ul>
 *   <li>GGUF: the {@code general.*} and {@code nemotron.*} keys with llama.cpp's types and order, and the
 *       {@code tokenizer.ggml.*} vocabulary;</li>
 *   <li>Hugging Face: {@code config.json}, {@code generation_config.json}, {@code tokenizer_config.json},
 *       {@code special_tokens_map.json} and a SentencePiece {@code tokenizer.model}.</li>
 * </ul>
 */
final class ModelFiles {
    private ModelFiles() {}

    /** GGUF / SentencePiece token type codes (the two use the same numbers). */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, BYTE = 6;

    /**
     * A SentencePiece BPE vocabulary with its special tokens and encoding flags.
     *
     * @param scores, types as they are to be written (GGUF files mark added special tokens CONTROL with score -1000)
     * @param padId   -1 when the vocabulary has no padding token
     */
    record TokenizerSpec(List<String> pieces, float[] scores, int[] types, int unkId, int bosId, int eosId, int padId,
                         boolean addBos, boolean addEos, boolean addSpacePrefix, boolean removeExtraWhitespaces) {
        TokenizerSpec {
            if (scores.length != pieces.size() || types.length != pieces.size()) {
                throw new IllegalArgumentException(pieces.size() + " pieces, " + scores.length + " scores, " + types.length + " types");
            }
        }

        String piece(int id) { return id >= 0 && id < pieces.size() ? pieces.get(id) : null; }
    }

    // ---- GGUF ----------------------------------------------------------------------------------------------

    /**
     * llama.cpp's {@code llama_ftype} of a file whose 2-D tensors are (mostly) {@code t}. Q4_K gives
     * {@code MOSTLY_Q4_K_M} (15) both for the Q4_K_M mix and for an all-Q4_K file, as {@code llama-quantize --pure}
     * writes it; Q6_K gives {@code MOSTLY_Q6_K} (18).
     */
    static int fileType(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case Q4_K -> 15;
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no llama ftype for " + t);
        };
    }

    /** The matrix types a GGUF file can be asked for ({@code --dtype} / {@code --type}); the mix is Q4_K only. */
    static final List<DType> GGUF_MATRIX_TYPES = List.of(DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K);

    private static final Pattern LAYER_TENSOR = Pattern.compile("blk\\.(\\d+)\\.(.+)");

    /**
     * The GGUF type of the tensor named {@code name} (with {@code dims} dimensions) in a file of type {@code base}:
     * 1-D tensors F32, matrices {@code base}; with {@code mix} (only for Q4_K: llama.cpp's Q4_K_M) these matrices
     * are Q6_K instead, as {@code llama-quantize} chooses them for a dense model like Nemotron:
     * <ul>
     *   <li>{@code output.weight};</li>
     *   <li>{@code attn_v.weight} and {@code ffn_down.weight} of the layers that get "more bits": layer {@code i} of
     *       {@code n} when {@code i < n/8}, {@code i >= 7n/8}, or {@code (i - n/8) % 3 == 2} (integer division),
     *       i.e. the first and last eighth and every third layer in between. For 2 layers that is layer 1 only,
     *       which is what llama.cpp did on the tiny-k fixture; for 32 layers, layers 0-3, 6, 9, ..., 27 and 28-31.</li>
     * </ul>
     * {@code token_embd.weight} stays Q4_K. Not modelled: llama.cpp's fallback types for rows that are not a
     * multiple of 256 (callers check the row length) and its rules for other architectures (MoE, GQA &ge; 8 ...).
     */
    static DType ggufTensorType(DType base, boolean mix, String name, int dims, int layers) {
        if (dims == 1) return DType.F32;
        if (!mix) return base;
        if (base != DType.Q4_K) throw new IllegalArgumentException("the _M mix is defined for Q4_K, not " + base);
        if (name.equals("output.weight")) return DType.Q6_K;
        Matcher mt = LAYER_TENSOR.matcher(name);
        if (mt.matches() && (mt.group(2).equals("attn_v.weight") || mt.group(2).equals("ffn_down.weight"))
                && moreBits(Integer.parseInt(mt.group(1)), layers)) {
            return DType.Q6_K;
        }
        return base;
    }

    /** llama.cpp's choice of layers whose attn_v / ffn_down get more bits in the _M mixes (see {@link #ggufTensorType}). */
    static boolean moreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /**
     * A writer holding the model metadata as llama.cpp's converter writes it for {@code nemotron}, except that
     * {@code rope.dimension_count} is the real rotary dim count (head_dim x partial factor).
     */
    static GgufWriter ggufModel(Config c, String name, long params, DType fileType) {
        String a = "nemotron.";
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "nemotron")
                .putString("general.type", "model")
                .putString("general.name", name)
                .putString("general.size_label", sizeLabel(params))
                .putU32(a + "block_count", c.numLayers())
                .putU32(a + "context_length", c.maxPositions())
                .putU32(a + "embedding_length", c.hiddenSize())
                .putU32(a + "feed_forward_length", c.intermediateSize())
                .putU32(a + "attention.head_count", c.numHeads())
                .putU32(a + "attention.head_count_kv", c.numKvHeads())
                .putF32(a + "rope.freq_base", c.ropeTheta())
                .putF32(a + "attention.layer_norm_rms_epsilon", c.normEps())
                .putU32(a + "attention.key_length", c.headDim())
                .putU32(a + "attention.value_length", c.headDim())
                .putU32("general.file_type", fileType(fileType))
                .putU32(a + "vocab_size", c.vocabSize())
                .putF32(a + "attention.layer_norm_epsilon", c.normEps())
                .putU32(a + "rope.dimension_count", c.rotaryDim());
        if (c.ropeScale() != 1f) {
            w.putString(a + "rope.scaling.type", "linear").putF32(a + "rope.scaling.factor", c.ropeScale());
        } else {
            w.putString(a + "rope.scaling.type", "none");
        }
        return w.putU32("general.quantization_version", 2);
    }

    /**
     * Adds the {@code tokenizer.ggml.*} keys. {@code add_space_prefix} / {@code remove_extra_whitespaces} are
     * written only where they differ from llama.cpp's defaults (true / false), as its converter does for SPM.
     */
    static void putTokenizer(GgufWriter w, TokenizerSpec t) {
        w.putString("tokenizer.ggml.model", "llama")
                .putString("tokenizer.ggml.pre", "default")
                .putStrings("tokenizer.ggml.tokens", t.pieces())
                .putF32s("tokenizer.ggml.scores", t.scores())
                .putI32s("tokenizer.ggml.token_type", t.types());
        if (t.bosId() >= 0) w.putU32("tokenizer.ggml.bos_token_id", t.bosId());
        if (t.eosId() >= 0) w.putU32("tokenizer.ggml.eos_token_id", t.eosId());
        if (t.unkId() >= 0) w.putU32("tokenizer.ggml.unknown_token_id", t.unkId());
        if (t.padId() >= 0) w.putU32("tokenizer.ggml.padding_token_id", t.padId());
        w.putBool("tokenizer.ggml.add_bos_token", t.addBos())
                .putBool("tokenizer.ggml.add_sep_token", false)
                .putBool("tokenizer.ggml.add_eos_token", t.addEos());
        if (!t.addSpacePrefix()) w.putBool("tokenizer.ggml.add_space_prefix", false);
        if (t.removeExtraWhitespaces()) w.putBool("tokenizer.ggml.remove_extra_whitespaces", true);
    }

    /** Parameter count as model names put it: 264K, 33M, 4.2B, 8.3B. */
    static String sizeLabel(long params) {
        String[] units = {"", "K", "M", "B", "T"};
        double v = params;
        int u = 0;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 && u > 0 ? "%.1f%s" : "%.0f%s", v, units[u]);
    }

    // ---- Hugging Face folder -------------------------------------------------------------------------------

    /** {@code config.json} with the fields of the nvidia configs; {@code dtype} gives {@code torch_dtype}. */
    static ObjectNode hfConfig(ObjectMapper json, Config c, DType dtype) {
        ObjectNode n = json.createObjectNode();
        n.putArray("architectures").add(Config.NEMOTRON);
        n.put("model_type", "nemotron");
        n.put("attention_bias", false);
        n.put("attention_dropout", 0.0);
        n.put("bos_token_id", c.bosId());
        n.put("eos_token_id", c.eosId());
        n.put("head_dim", c.headDim());
        n.put("hidden_act", "relu2");
        n.put("hidden_size", c.hiddenSize());
        n.put("initializer_range", 0.0134);
        n.put("intermediate_size", c.intermediateSize());
        n.put("max_position_embeddings", c.maxPositions());
        n.put("mlp_bias", false);
        n.put("norm_eps", decimal(c.normEps()));
        n.put("num_attention_heads", c.numHeads());
        n.put("num_hidden_layers", c.numLayers());
        n.put("num_key_value_heads", c.numKvHeads());
        n.put("partial_rotary_factor", partialRotaryFactor(c));
        n.put("rope_theta", decimal(c.ropeTheta()));
        if (c.ropeScale() != 1f) n.putObject("rope_scaling").put("type", "linear").put("factor", decimal(c.ropeScale()));
        n.put("tie_word_embeddings", false);
        n.put("torch_dtype", switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            default -> "bfloat16";
        });
        n.put("transformers_version", "4.44.0");
        n.put("use_cache", true);
        n.put("vocab_size", c.vocabSize());
        return n;
    }

    /** The shortest decimal of a float as a double: 1e-5f is written 1.0E-5, not 9.999999747378752E-6. */
    static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    /** rotary/head_dim, nudged up so that a reader's {@code int(head_dim * factor)} gives rotary back exactly. */
    static double partialRotaryFactor(Config c) {
        double p = (double) c.rotaryDim() / c.headDim();
        while ((int) (c.headDim() * p) < c.rotaryDim()) p = Math.nextUp(p);
        return p;
    }

    static ObjectNode generationConfig(ObjectMapper json, Config c) {
        ObjectNode n = json.createObjectNode();
        n.put("_from_model_config", true);
        n.put("bos_token_id", c.bosId());
        n.put("eos_token_id", c.eosId());
        n.put("transformers_version", "4.44.0");
        return n;
    }

    /**
     * {@code tokenizer_config.json} for the LlamaTokenizer: add-BOS/EOS flags, the special pieces, and every
     * control, unknown or user-defined token in {@code added_tokens_decoder} (special unless user-defined).
     */
    static ObjectNode tokenizerConfig(ObjectMapper json, TokenizerSpec t, int maxPositions) {
        ObjectNode n = json.createObjectNode();
        n.put("add_bos_token", t.addBos());
        n.put("add_eos_token", t.addEos());
        ObjectNode added = n.putObject("added_tokens_decoder");
        for (int id = 0; id < t.pieces().size(); id++) {
            int type = t.types()[id];
            if (type != CONTROL && type != UNKNOWN && type != USER_DEFINED) continue;
            added.putObject(Integer.toString(id)).put("content", t.pieces().get(id)).put("lstrip", false).put("normalized", false)
                    .put("rstrip", false).put("single_word", false).put("special", type != USER_DEFINED);
        }
        putSpecials(n, t);
        n.put("clean_up_tokenization_spaces", false);
        n.put("legacy", true);
        n.put("model_max_length", maxPositions);
        n.putObject("sp_model_kwargs");
        n.put("tokenizer_class", "LlamaTokenizer");
        return n;
    }

    static ObjectNode specialTokens(ObjectMapper json, TokenizerSpec t) {
        return putSpecials(json.createObjectNode(), t);
    }

    private static ObjectNode putSpecials(ObjectNode n, TokenizerSpec t) {
        if (t.piece(t.bosId()) != null) n.put("bos_token", t.piece(t.bosId()));
        if (t.piece(t.eosId()) != null) n.put("eos_token", t.piece(t.eosId()));
        if (t.piece(t.unkId()) != null) n.put("unk_token", t.piece(t.unkId()));
        if (t.piece(t.padId()) != null) n.put("pad_token", t.piece(t.padId()));
        return n;
    }

    /**
     * The {@code tokenizer.model} bytes: a SentencePiece ModelProto with pieces (field 1: piece=1, score=2,
     * type=3 omitted for NORMAL), trainer_spec (field 2: BPE, vocab size, split_digits, byte_fallback,
     * unk/bos/eos/pad ids and pieces) and normalizer_spec (field 3: identity, add_dummy_prefix,
     * remove_extra_whitespaces), field numbers as in sentencepiece_model.proto. A missing special id is written
     * as -1, SentencePiece's "none".
     */
    static byte[] sentencePieceModel(TokenizerSpec t) {
        Proto model = new Proto();
        for (int i = 0; i < t.pieces().size(); i++) {
            Proto p = new Proto();
            p.string(1, t.pieces().get(i));
            p.fixed32(2, t.scores()[i]);
            if (t.types()[i] != NORMAL) p.varint(3, t.types()[i]);
            model.message(1, p);
        }
        Proto trainer = new Proto();
        trainer.varint(3, 2);                   // model_type BPE
        trainer.varint(4, t.pieces().size());   // vocab_size
        trainer.varint(25, 1);                  // split_digits
        trainer.varint(35, 1);                  // byte_fallback
        trainer.varint(40, t.unkId());          // unk_id
        trainer.varint(41, t.bosId());          // bos_id
        trainer.varint(42, t.eosId());          // eos_id
        trainer.varint(43, t.padId());          // pad_id
        trainer.string(44, " \u2047 ");         // unk_surface
        if (t.piece(t.unkId()) != null) trainer.string(45, t.piece(t.unkId()));
        if (t.piece(t.bosId()) != null) trainer.string(46, t.piece(t.bosId()));
        if (t.piece(t.eosId()) != null) trainer.string(47, t.piece(t.eosId()));
        if (t.piece(t.padId()) != null) trainer.string(48, t.piece(t.padId()));
        model.message(2, trainer);
        Proto norm = new Proto();
        norm.string(1, "identity");
        norm.varint(3, t.addSpacePrefix() ? 1 : 0);            // add_dummy_prefix
        norm.varint(4, t.removeExtraWhitespaces() ? 1 : 0);    // remove_extra_whitespaces
        model.message(3, norm);
        return model.toByteArray();
    }

    /** Just enough protobuf encoding: varints, fixed32 floats, strings and nested messages. */
    private static final class Proto extends ByteArrayOutputStream {
        void tag(int field, int wire) { raw((long) field << 3 | wire); }

        void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                write((int) (v & 0x7F) | 0x80);
                v >>>= 7;
            }
            write((int) v);
        }

        void varint(int field, long v) {
            tag(field, 0);
            raw(v);
        }

        void fixed32(int field, float f) {
            tag(field, 5);
            int b = Float.floatToRawIntBits(f);
            for (int i = 0; i < 4; i++) write(b >>> (8 * i));
        }

        void string(int field, String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            tag(field, 2);
            raw(b.length);
            write(b, 0, b.length);
        }

        void message(int field, Proto m) {
            tag(field, 2);
            raw(m.size());
            write(m.buf, 0, m.size());
        }
    }
}
