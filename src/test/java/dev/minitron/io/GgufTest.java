package dev.minitron.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.DequantChecks;
import dev.minitron.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Gguf.open on tiny-a (llama.cpp's converter output for a 3-layer Nemotron). */
class GgufTest {
    static final Path F32 = DequantChecks.resource("fixtures/tiny-a/gguf/tiny-a-f32.gguf");
    static final Path HF = DequantChecks.resource("fixtures/tiny-a/hf-fp32/model.safetensors");

    @Test
    void header() {
        Gguf g = Gguf.open(F32);
        assertEquals(F32, g.path());
        assertEquals(3, g.version());
        assertEquals(32, g.alignment());
        assertEquals(24480, g.dataOffset());
        assertEquals(32, g.metadata().size());
        assertEquals(List.of("general.architecture", "general.type", "general.name"),
                g.metadata().keySet().stream().limit(3).toList(), "metadata keeps file order");
    }

    @Test
    void metadataValuesAndTypes() {
        Gguf g = Gguf.open(F32);
        assertEquals("nemotron", g.getString("general.architecture"));
        assertEquals(3L, g.getLong("nemotron.block_count"));
        assertInstanceOf(Long.class, g.metadata().get("nemotron.block_count"));        // UINT32 scalar
        assertEquals(64, g.getLong("nemotron.embedding_length"));
        assertEquals(8, g.getLong("nemotron.rope.dimension_count"));
        assertInstanceOf(Double.class, g.metadata().get("nemotron.rope.freq_base"));   // FLOAT32 scalar
        assertEquals(10000.0, g.getDouble("nemotron.rope.freq_base"));
        assertEquals((double) 1e-5f, g.getDouble("nemotron.attention.layer_norm_epsilon"));
        assertTrue(g.getBool("tokenizer.ggml.add_bos_token", false));
        assertFalse(g.getBool("tokenizer.ggml.add_eos_token", true));
        assertTrue(g.getBool("no.such.key", true));
        assertEquals(2, g.getLong("tokenizer.ggml.bos_token_id"));
        assertEquals(3, g.getLong("tokenizer.ggml.eos_token_id"));
        assertEquals(7, g.getLong("no.such.key", 7));
        assertEquals(0.5, g.getDouble("no.such.key", 0.5));
        assertTrue(g.has("tokenizer.ggml.model"));
        assertFalse(g.has("general.alignment"));

        Object tokens = g.metadata().get("tokenizer.ggml.tokens");
        assertInstanceOf(String[].class, tokens);
        String[] t = g.getStrings("tokenizer.ggml.tokens");
        assertEquals(1000, t.length);
        assertEquals(List.of("<pad>", "<unk>", "<s>", "</s>"), List.of(t).subList(0, 4));
        float[] scores = g.getFloats("tokenizer.ggml.scores");
        assertEquals(1000, scores.length);
        assertEquals(-1000f, scores[0]);
        int[] types = g.getInts("tokenizer.ggml.token_type");                          // INT32 array
        assertEquals(1000, types.length);
        assertEquals(3, types[0]);
        assertEquals(6, types[4], "byte-fallback tokens <0x00>.. follow the 4 specials");
        assertEquals("<0x00>", t[4]);
        assertEquals(1, types[999], "normal token");
    }

    @Test
    void typedGetterErrors() {
        Gguf g = Gguf.open(F32);
        var e = assertThrows(ModelException.class, () -> g.getLong("general.architecture"));
        assertEquals(F32 + ": metadata key 'general.architecture' is a String, expected an integer", e.getMessage());
        e = assertThrows(ModelException.class, () -> g.getString("nemotron.missing"));
        assertEquals(F32 + ": metadata key 'nemotron.missing' is missing", e.getMessage());
        e = assertThrows(ModelException.class, () -> g.getStrings("tokenizer.ggml.scores"));
        assertTrue(e.getMessage().contains("is a float32 array, expected a string array"), e.getMessage());
        e = assertThrows(ModelException.class, () -> g.getBool("nemotron.block_count", false));
        assertTrue(e.getMessage().contains("'nemotron.block_count' is an integer, expected a boolean"), e.getMessage());
        e = assertThrows(ModelException.class, () -> g.getDouble("general.name"));
        assertTrue(e.getMessage().contains("is a String"), e.getMessage());
        e = assertThrows(ModelException.class, () -> g.tensor("blk.9.attn_q.weight"));
        assertTrue(e.getMessage().contains("tensor 'blk.9.attn_q.weight' is missing"), e.getMessage());
    }

    @Test
    void tensorsInFileOrderWithPyTorchShapes() {
        Gguf g = Gguf.open(F32);
        assertEquals(3 * 10 + 4, g.tensors().size(), "10 per layer + token_embd, output, output_norm.{weight,bias}");
        assertEquals(List.of("output.weight", "token_embd.weight", "blk.0.attn_norm.bias"),
                g.tensors().keySet().stream().limit(3).toList());
        assertArrayEquals(new long[] {1000, 64}, g.tensor("token_embd.weight").shape());
        assertArrayEquals(new long[] {256, 64}, g.tensor("blk.0.ffn_up.weight").shape(), "ne [64, 256] reversed");
        assertArrayEquals(new long[] {64, 256}, g.tensor("blk.0.ffn_down.weight").shape());
        assertArrayEquals(new long[] {32, 64}, g.tensor("blk.2.attn_k.weight").shape());
        assertArrayEquals(new long[] {64}, g.tensor("output_norm.weight").shape());
        for (Tensor t : g.tensors().values()) assertEquals(DType.F32, t.dtype(), t.name());
        Tensor up = g.tensor("blk.0.ffn_up.weight");
        assertEquals(256, up.rows());
        assertEquals(64, up.cols());
    }

    /** The converter stores LayerNorm weights + 1 (docs/NEMOTRON.md section 4) and everything else unchanged. */
    @Test
    void tensorValuesMatchTheHuggingFaceCheckpoint() throws IOException {
        Gguf g = Gguf.open(F32);
        float[] w = g.tensor("blk.1.attn_norm.weight").toFloats();
        float[] hw = safetensor(HF, "model.layers.1.input_layernorm.weight");
        assertEquals(64, w.length);
        for (int i = 0; i < 64; i++) assertEquals(hw[i] + 1f, w[i], "attn_norm.weight[" + i + "]");
        assertArrayEquals(safetensor(HF, "model.norm.bias"), g.tensor("output_norm.bias").toFloats());
        assertArrayEquals(safetensor(HF, "model.layers.2.mlp.up_proj.weight"),
                g.tensor("blk.2.ffn_up.weight").toFloats());
        float[] row = new float[64];
        g.tensor("token_embd.weight").readRow(999, row, 0);
        float[] emb = safetensor(HF, "model.embed_tokens.weight");
        for (int i = 0; i < 64; i++) assertEquals(emb[999 * 64 + i], row[i]);
    }

    /** tiny-a's weights are exactly representable in bf16, so the BF16 file dequantizes to the F32 file's values. */
    @Test
    void bf16FileHoldsTheSameWeights() {
        Gguf f = Gguf.open(F32);
        Gguf b = Gguf.open(DequantChecks.resource("fixtures/tiny-a/gguf/tiny-a-bf16.gguf"));
        assertEquals(f.tensors().keySet(), b.tensors().keySet());
        assertEquals(DType.BF16, b.tensor("blk.0.attn_q.weight").dtype());
        for (String name : List.of("blk.0.attn_q.weight", "token_embd.weight", "output.weight")) {
            assertArrayEquals(f.tensor(name).toFloats(), b.tensor(name).toFloats(), name);
        }
    }

    @Test
    void otherTinyAFilesOpen() {
        for (String v : List.of("f16", "q8_0")) {
            Gguf g = Gguf.open(DequantChecks.resource("fixtures/tiny-a/gguf/tiny-a-" + v + ".gguf"));
            assertEquals(34, g.tensors().size(), v);
            assertEquals(v.equals("f16") ? DType.F16 : DType.Q8_0, g.tensor("blk.0.ffn_up.weight").dtype(), v);
            assertEquals(DType.F32, g.tensor("blk.0.ffn_norm.weight").dtype(), v);
        }
    }

    /** Reads one F32 tensor of a safetensors file (8-byte header length, JSON header, data). */
    static float[] safetensor(Path file, String name) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = (int) buf.getLong(0);
        JsonNode header = new ObjectMapper().readTree(new String(all, 8, headerLen, java.nio.charset.StandardCharsets.UTF_8));
        JsonNode t = header.get(name);
        assertEquals("F32", t.get("dtype").asText());
        long begin = t.get("data_offsets").get(0).asLong(), end = t.get("data_offsets").get(1).asLong();
        float[] out = new float[(int) ((end - begin) / 4)];
        buf.position(8 + headerLen + (int) begin);
        buf.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }
}
