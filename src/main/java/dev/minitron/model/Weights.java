package dev.minitron.model;

import dev.minitron.io.ModelException;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a NemotronForCausalLM, by role, checked against the {@link Config}. Matrices stay views into
 * the mapped file in their own dtype; the small 1-D tensors (norms, biases) are copied to float32, with the
 * LayerNorm1P "+1" applied once here so the kernels see the real gamma.
 *
 * <p>Names are the Hugging Face ones ({@code docs/NEMOTRON.md} section 2); GGUF names are translated by
 * {@link #hfName(String)}.
 */
public record Weights(Tensor embed, Layer[] layers, Norm outNorm, Tensor lmHead) {

    /** gamma (already "+1") and beta of a LayerNorm1P. */
    public record Norm(float[] gamma, float[] beta) {}

    /** One transformer block. Biases are null when the checkpoint has none (Minitron has none). */
    public record Layer(Norm attnNorm, Tensor q, Tensor k, Tensor v, Tensor o,
                        float[] qBias, float[] kBias, float[] vBias, float[] oBias,
                        Norm ffnNorm, Tensor up, Tensor down, float[] upBias, float[] downBias) {
        /** The six weight matrices in the order a forward pass uses them: q, k, v, o, up, down. */
        public List<Tensor> matrices() {
            return List.of(q, k, v, o, up, down);
        }
    }

    /**
     * Picks and checks the tensors.
     *
     * @param tensors          HF-named tensors
     * @param normsHavePlusOne true for GGUF (the converter stored gamma = weight + 1), false for HF checkpoints
     * @param source           file or folder name for messages
     */
    public static Weights from(Config c, Map<String, Tensor> tensors, boolean normsHavePlusOne, String source) {
        Picker p = new Picker(tensors, source, normsHavePlusOne);
        int h = c.hiddenSize();
        Layer[] layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String pre = "model.layers." + i + ".";
            layers[i] = new Layer(
                    p.norm(pre + "input_layernorm", h),
                    p.matrix(pre + "self_attn.q_proj.weight", c.qDim(), h),
                    p.matrix(pre + "self_attn.k_proj.weight", c.kvDim(), h),
                    p.matrix(pre + "self_attn.v_proj.weight", c.kvDim(), h),
                    p.matrix(pre + "self_attn.o_proj.weight", h, c.qDim()),
                    p.optVector(pre + "self_attn.q_proj.bias", c.qDim()),
                    p.optVector(pre + "self_attn.k_proj.bias", c.kvDim()),
                    p.optVector(pre + "self_attn.v_proj.bias", c.kvDim()),
                    p.optVector(pre + "self_attn.o_proj.bias", h),
                    p.norm(pre + "post_attention_layernorm", h),
                    p.matrix(pre + "mlp.up_proj.weight", c.intermediateSize(), h),
                    p.matrix(pre + "mlp.down_proj.weight", h, c.intermediateSize()),
                    p.optVector(pre + "mlp.up_proj.bias", c.intermediateSize()),
                    p.optVector(pre + "mlp.down_proj.bias", h));
        }
        return new Weights(p.matrix("model.embed_tokens.weight", c.vocabSize(), h), layers,
                p.norm("model.norm", h), p.matrix("lm_head.weight", c.vocabSize(), h));
    }

    /** Translates a GGUF tensor name ({@code blk.N.attn_q.weight}) to the Hugging Face name, or null if unknown. */
    public static String hfName(String gguf) {
        switch (gguf) {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output.weight": return "lm_head.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output_norm.bias": return "model.norm.bias";
            default: break;
        }
        if (!gguf.startsWith("blk.")) return null;
        int dot = gguf.indexOf('.', 4);
        if (dot < 0) return null;
        String layer = gguf.substring(4, dot);
        String rest = gguf.substring(dot + 1);
        int d2 = rest.lastIndexOf('.');
        if (d2 < 0) return null;
        String role = rest.substring(0, d2), kind = rest.substring(d2);
        String hf = switch (role) {
            case "attn_norm" -> "input_layernorm";
            case "attn_q" -> "self_attn.q_proj";
            case "attn_k" -> "self_attn.k_proj";
            case "attn_v" -> "self_attn.v_proj";
            case "attn_output" -> "self_attn.o_proj";
            case "ffn_norm" -> "post_attention_layernorm";
            case "ffn_up" -> "mlp.up_proj";
            case "ffn_down" -> "mlp.down_proj";
            default -> null;
        };
        return hf == null ? null : "model.layers." + layer + "." + hf + kind;
    }

    /** Bytes of weights read to decode one token: every matrix once, but only one row of the embedding. */
    public long bytesPerToken() {
        long b = embed.rowBytes() + lmHead.data().byteSize();
        for (Layer l : layers) {
            for (Tensor t : l.matrices()) b += t.data().byteSize();
        }
        return b;
    }

    private record Picker(Map<String, Tensor> tensors, String source, boolean plusOne) {
        Tensor get(String name) {
            Tensor t = tensors.get(name);
            if (t == null) throw new ModelException(source + ": tensor '" + name + "' is missing");
            return t;
        }

        Tensor matrix(String name, int rows, int cols) {
            Tensor t = get(name);
            if (t.shape().length != 2 || t.shape()[0] != rows || t.shape()[1] != cols) {
                throw new ModelException(source + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + ", config.json implies [" + rows + ", " + cols + "]");
            }
            return t;
        }

        float[] vector(String name, int n) {
            Tensor t = get(name);
            if (t.numel() != n || t.shape().length != 1) {
                throw new ModelException(source + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + ", config.json implies [" + n + "]");
            }
            if (t.dtype().isQuantized() && t.dtype() != DType.Q8_0) {
                throw new ModelException(source + ": tensor '" + name + "' is " + t.dtype() + "; a 1-D tensor must be a float type");
            }
            return t.toFloats();
        }

        float[] optVector(String name, int n) {
            return tensors.containsKey(name) ? vector(name, n) : null;
        }

        Norm norm(String prefix, int n) {
            float[] w = vector(prefix + ".weight", n);
            // LayerNorm1P: gamma = weight + 1 (HF stores weight = gamma - 1; the GGUF converter already added 1)
            if (!plusOne) for (int i = 0; i < n; i++) w[i] += 1f;
            float[] b = tensors.containsKey(prefix + ".bias") ? vector(prefix + ".bias", n) : new float[n];
            return new Norm(w, b);
        }
    }
}
