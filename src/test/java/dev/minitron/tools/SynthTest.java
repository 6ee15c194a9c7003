package dev.minitron.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.io.ModelException;
import dev.minitron.model.Config;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class SynthTest {
    /** One tiny F32 model in both formats (same seed), shared by the tests that only read it. */
    @TempDir static Path shared;
    static Path hf, gguf;

    @TempDir Path dir;

    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

    @BeforeAll
    static void writeTiny() {
        hf = shared.resolve("tiny-hf");
        gguf = shared.resolve("tiny.gguf");
        Synth.run(new Synth.Options("tiny", DType.F32, "hf", 42, hf, false), QUIET);
        Synth.run(new Synth.Options("tiny", DType.F32, "gguf", 42, gguf, false), QUIET);
    }

    /** HF name -> PyTorch shape, written out from docs/NEMOTRON.md section 2 (independently of Synth). */
    static Map<String, long[]> hfTensors(int layers, long h, long ff, long q, long kv, long v) {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new long[] {v, h});
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            m.put(p + "input_layernorm.weight", new long[] {h});
            m.put(p + "input_layernorm.bias", new long[] {h});
            m.put(p + "self_attn.q_proj.weight", new long[] {q, h});
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.o_proj.weight", new long[] {h, q});
            m.put(p + "post_attention_layernorm.weight", new long[] {h});
            m.put(p + "post_attention_layernorm.bias", new long[] {h});
            m.put(p + "mlp.up_proj.weight", new long[] {ff, h});
            m.put(p + "mlp.down_proj.weight", new long[] {h, ff});
        }
        m.put("model.norm.weight", new long[] {h});
        m.put("model.norm.bias", new long[] {h});
        m.put("lm_head.weight", new long[] {v, h});
        return m;
    }

    /** The llama.cpp name of an HF tensor (docs/NEMOTRON.md section 4). */
    static String ggufName(String hf) {
        if (hf.equals("model.embed_tokens.weight")) return "token_embd.weight";
        if (hf.equals("lm_head.weight")) return "output.weight";
        if (hf.startsWith("model.norm.")) return "output_norm." + hf.substring("model.norm.".length());
        String rest = hf.substring("model.layers.".length());
        String n = rest.substring(0, rest.indexOf('.'));
        String t = rest.substring(n.length() + 1)
                .replace("input_layernorm", "attn_norm").replace("post_attention_layernorm", "ffn_norm")
                .replace("self_attn.q_proj", "attn_q").replace("self_attn.k_proj", "attn_k").replace("self_attn.v_proj", "attn_v")
                .replace("self_attn.o_proj", "attn_output").replace("mlp.up_proj", "ffn_up").replace("mlp.down_proj", "ffn_down");
        return "blk." + n + "." + t;
    }

    private static List<String> listing(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static long[] reversed(long[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[a.length - 1 - i];
        return r;
    }

    // ---- the tiny model, HF side ---------------------------------------------------------------------------

    @Test
    void hfFolderHasTheFilesOfARealCheckpoint() throws IOException {
        assertEquals(List.of("config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
                "tokenizer.model", "tokenizer_config.json"), listing(hf));
        assertEquals(List.of("tiny-hf", "tiny.gguf"), listing(shared), "no temporaries left next to the outputs");
        Config c = Config.fromHfJson(hf.resolve("config.json"));
        assertEquals(Synth.shape("tiny"), c);
        JsonNode cfg = new ObjectMapper().readTree(hf.resolve("config.json").toFile());
        assertEquals("float32", cfg.get("torch_dtype").asText());
        assertEquals("nemotron", cfg.get("model_type").asText());
        assertEquals(0.5, cfg.get("partial_rotary_factor").asDouble());
        assertFalse(cfg.get("tie_word_embeddings").asBoolean());
        assertEquals(1e-5, cfg.get("norm_eps").asDouble());
        JsonNode tok = new ObjectMapper().readTree(hf.resolve("tokenizer_config.json").toFile());
        assertTrue(tok.get("add_bos_token").asBoolean());
        assertFalse(tok.get("add_eos_token").asBoolean());
        assertEquals("<s>", tok.get("bos_token").asText());
        assertEquals("</s>", tok.get("eos_token").asText());
        JsonNode special = new ObjectMapper().readTree(hf.resolve("special_tokens_map.json").toFile());
        assertEquals("</s>", special.get("eos_token").asText());
        JsonNode gen = new ObjectMapper().readTree(hf.resolve("generation_config.json").toFile());
        assertEquals(2, gen.get("bos_token_id").asInt());
        assertEquals(3, gen.get("eos_token_id").asInt());
    }

    @Test
    void safetensorsHoldsExactlyTheNemotronTensors() throws IOException {
        MiniSafetensors st = new MiniSafetensors(hf.resolve("model.safetensors"));
        Map<String, long[]> want = hfTensors(2, 64, 256, 64, 32, 256000);
        assertEquals(want.keySet(), st.tensors.keySet());
        assertEquals("pt", st.metadata.get("format").asText());
        assertEquals(0, st.dataStart() % 8);
        long end = 0;
        for (var e : want.entrySet()) {
            var t = st.tensors.get(e.getKey());
            assertArrayEquals(e.getValue(), t.shape(), e.getKey());
            assertEquals("F32", t.dtype(), e.getKey());
            long n = 1;
            for (long d : e.getValue()) n *= d;
            assertEquals(4 * n, t.end() - t.begin(), e.getKey());
            end = Math.max(end, t.end());
        }
        assertEquals(st.dataStart() + end, st.fileSize);
    }

    @Test
    void weightsHaveSensibleScales() throws IOException {
        MiniSafetensors st = new MiniSafetensors(hf.resolve("model.safetensors"));
        float[] norm = st.floats("model.layers.0.input_layernorm.weight");
        boolean nonZero = false;
        for (float w : norm) {
            assertTrue(Math.abs(w) <= 6 / 128f, "gamma-1 is small: " + w);
            assertEquals(w, Math.round(w * 128) / 128f, "a multiple of 1/128");
            nonZero |= w != 0;
        }
        assertTrue(nonZero);
        assertStd(st.floats("model.layers.0.self_attn.q_proj.weight"), 1 / Math.sqrt(64));
        assertStd(st.floats("model.layers.1.mlp.down_proj.weight"), 1 / Math.sqrt(256));
        assertStd(st.floats("model.layers.1.post_attention_layernorm.bias"), 0.02);
        float[] q = st.floats("model.layers.0.self_attn.k_proj.weight");
        for (float v : q) assertEquals(v, Float.intBitsToFloat(Dequant.toBf16(v) << 16), "values are bf16-exact");
    }

    private static void assertStd(float[] v, double std) {
        double s = 0, m = 0;
        for (float x : v) m += x;
        m /= v.length;
        for (float x : v) s += (x - m) * (x - m);
        double got = Math.sqrt(s / v.length);
        assertEquals(std, got, std * 0.15, "std");
        assertEquals(0, m, std * 0.2, "mean");
    }

    @Test
    void tokenizerModelIsA256kSentencePieceBpe() throws IOException {
        List<MiniProto.Field> model = MiniProto.parse(Files.readAllBytes(hf.resolve("tokenizer.model")));
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<Long> types = new ArrayList<>();
        for (MiniProto.Field f : model) {
            if (f.number() != 1) continue;
            List<MiniProto.Field> p = f.message();
            pieces.add(MiniProto.first(p, 1).string());
            scores.add(MiniProto.first(p, 2).f32());
            MiniProto.Field t = MiniProto.first(p, 3);
            types.add(t == null ? 1L : t.varint());
        }
        assertEquals(256000, pieces.size());
        assertEquals(List.of("<pad>", "<unk>", "<s>", "</s>", "<0x00>", "<0x01>"), pieces.subList(0, 6));
        assertEquals("<0xFF>", pieces.get(259));
        assertEquals(List.of(3L, 2L, 3L, 3L, 6L), types.subList(0, 5));
        assertEquals(6L, types.get(259));
        assertEquals(256000, new HashSet<>(pieces).size(), "pieces are unique");
        assertTrue(pieces.contains("\u2581"), "has the word-boundary piece");
        for (char c = 'a'; c <= 'z'; c++) assertTrue(pieces.contains(String.valueOf(c)), "has " + c);
        for (int i = 261; i < 256000; i++) {
            if (types.get(i) == 1) assertTrue(scores.get(i) < scores.get(i - 1), "scores descend at " + i);
        }
        // every merged piece minus its last character is itself a piece: BPE can reach it
        var set = new HashSet<>(pieces);
        for (int i = 260; i < 256000; i++) {
            String p = pieces.get(i);
            int last = p.offsetByCodePoints(p.length(), -1);
            if (last > 0) assertTrue(set.contains(p.substring(0, last)), p);
        }
        List<MiniProto.Field> trainer = MiniProto.first(model, 2).message();
        assertEquals(2, MiniProto.first(trainer, 3).varint(), "model_type BPE");
        assertEquals(256000, MiniProto.first(trainer, 4).varint());
        assertEquals(1, MiniProto.first(trainer, 35).varint(), "byte_fallback");
        assertEquals(1, MiniProto.first(trainer, 40).varint());
        assertEquals(2, MiniProto.first(trainer, 41).varint());
        assertEquals(3, MiniProto.first(trainer, 42).varint());
        assertEquals(0, MiniProto.first(trainer, 43).varint());
        List<MiniProto.Field> norm = MiniProto.first(model, 3).message();
        assertEquals("identity", MiniProto.first(norm, 1).string());
        assertEquals(1, MiniProto.first(norm, 3).varint(), "add_dummy_prefix");
        assertEquals(0, MiniProto.first(norm, 4).varint(), "remove_extra_whitespaces");
    }

    // ---- the tiny model, GGUF side -------------------------------------------------------------------------

    @Test
    void ggufHasLlamaCppNamesShapesAndMetadata() throws IOException {
        MiniGguf g = new MiniGguf(gguf);
        assertEquals(3, g.version);
        Map<String, long[]> want = hfTensors(2, 64, 256, 64, 32, 256000);
        assertEquals(want.size(), g.tensors.size());
        long end = 0;
        for (var e : want.entrySet()) {
            MiniGguf.Info t = g.tensor(ggufName(e.getKey()));
            assertArrayEquals(reversed(e.getValue()), t.ne(), t.name());
            assertEquals(0, t.type(), t.name());
            assertEquals(0, t.offset() % 32, t.name());
            long n = 1;
            for (long d : e.getValue()) n *= d;
            end = Math.max(end, (t.offset() + 4 * n + 31) / 32 * 32);
        }
        assertEquals(0, g.dataStart % 32);
        assertEquals(g.dataStart + end, g.fileSize);
        assertEquals("nemotron", g.get("general.architecture"));
        assertEquals(0L, g.get("general.file_type"));
        Map<String, Long> u32 = Map.of("nemotron.block_count", 2L, "nemotron.context_length", 4096L,
                "nemotron.embedding_length", 64L, "nemotron.feed_forward_length", 256L,
                "nemotron.attention.head_count", 4L, "nemotron.attention.head_count_kv", 2L,
                "nemotron.rope.dimension_count", 8L, "nemotron.attention.key_length", 16L,
                "nemotron.attention.value_length", 16L, "nemotron.vocab_size", 256000L);
        for (var e : u32.entrySet()) {
            assertEquals(4, g.type(e.getKey()), e.getKey() + " is UINT32");
            assertEquals(e.getValue(), g.get(e.getKey()), e.getKey());
        }
        assertEquals(6, g.type("nemotron.rope.freq_base"));
        assertEquals(10000f, g.get("nemotron.rope.freq_base"));
        assertEquals(1e-5f, g.get("nemotron.attention.layer_norm_epsilon"));
        assertEquals("llama", g.get("tokenizer.ggml.model"));
        assertEquals(2L, g.get("tokenizer.ggml.bos_token_id"));
        assertEquals(3L, g.get("tokenizer.ggml.eos_token_id"));
        assertEquals(1L, g.get("tokenizer.ggml.unknown_token_id"));
        assertEquals(0L, g.get("tokenizer.ggml.padding_token_id"));
        assertEquals(true, g.get("tokenizer.ggml.add_bos_token"));
        assertEquals(false, g.get("tokenizer.ggml.add_eos_token"));
        List<?> tokens = (List<?>) g.get("tokenizer.ggml.tokens");
        assertEquals(256000, tokens.size());
        assertEquals(List.of("<pad>", "<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 5));
        assertEquals(256000, ((List<?>) g.get("tokenizer.ggml.scores")).size());
        List<?> types = (List<?>) g.get("tokenizer.ggml.token_type");
        assertEquals(5, g.kv.get("tokenizer.ggml.token_type").elemType(), "int32 array");
        assertEquals(List.of(3L, 3L, 3L, 3L, 6L), types.subList(0, 5));
        assertEquals(1L, types.get(300));
    }

    @Test
    void ggufMetadataKeysAndTypesAreThoseOfLlamaCppsConverter() throws IOException {
        MiniGguf ours = new MiniGguf(gguf);
        MiniGguf theirs = new MiniGguf(Path.of("src/test/resources/fixtures/tiny-a/gguf/tiny-a-q8_0.gguf"));
        assertEquals(List.copyOf(theirs.kv.keySet()), List.copyOf(ours.kv.keySet()));
        for (String k : theirs.kv.keySet()) {
            assertEquals(theirs.kv.get(k).type(), ours.kv.get(k).type(), k);
            assertEquals(theirs.kv.get(k).elemType(), ours.kv.get(k).elemType(), k);
        }
        for (String k : List.of("general.architecture", "general.type", "nemotron.context_length", "nemotron.rope.freq_base",
                "nemotron.attention.layer_norm_epsilon", "nemotron.rope.scaling.type", "general.quantization_version",
                "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
                "tokenizer.ggml.add_sep_token", "tokenizer.ggml.add_eos_token")) {
            assertEquals(theirs.get(k), ours.get(k), k);
        }
        // the first 260 tokens (specials and bytes) with their scores and types, as the converter wrote them
        for (String k : List.of("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")) {
            assertEquals(((List<?>) theirs.get(k)).subList(0, 260), ((List<?>) ours.get(k)).subList(0, 260), k);
        }
    }

    @Test
    void ggufHoldsTheSameModelWithTheNormPlusOne() throws IOException {
        MiniSafetensors st = new MiniSafetensors(hf.resolve("model.safetensors"));
        MiniGguf g = new MiniGguf(gguf);
        for (String name : hfTensors(2, 64, 256, 64, 32, 256000).keySet()) {
            if (name.contains("embed") || name.contains("lm_head")) continue;
            float[] a = st.floats(name), b = g.f32(ggufName(name));
            assertEquals(a.length, b.length, name);
            boolean plusOne = name.endsWith("norm.weight");
            for (int i = 0; i < a.length; i++) assertEquals(plusOne ? a[i] + 1f : a[i], b[i], name + "[" + i + "]");
        }
        // large tables: compare the first rows
        float[] lm = g.f32("output.weight");
        float[] lmHf = st.floats("lm_head.weight");
        for (int i = 0; i < 64 * 100; i++) assertEquals(lmHf[i], lm[i]);
        assertArrayEquals(Files.readAllBytes(hf.resolve("tokenizer.model")).length > 0 ? tokensOf(hf) : null,
                ((List<?>) g.get("tokenizer.ggml.tokens")).toArray(), "GGUF vocabulary = tokenizer.model pieces");
    }

    private static Object[] tokensOf(Path hfDir) throws IOException {
        List<String> pieces = new ArrayList<>();
        for (MiniProto.Field f : MiniProto.parse(Files.readAllBytes(hfDir.resolve("tokenizer.model")))) {
            if (f.number() == 1) pieces.add(MiniProto.first(f.message(), 1).string());
        }
        return pieces.toArray();
    }

    // ---- determinism, formats, sharding, atomicity ---------------------------------------------------------

    /** A small config.json (vocab 1000) so the tests that write several models stay fast. */
    private Path smallConfig() throws IOException {
        Path cfg = dir.resolve("small-config.json");
        Files.writeString(cfg, """
                {"architectures": ["NemotronForCausalLM"], "model_type": "nemotron", "hidden_size": 64,
                 "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "head_dim": 16, "partial_rotary_factor": 0.5, "vocab_size": 1000, "max_position_embeddings": 512,
                 "norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "relu2", "bos_token_id": 2, "eos_token_id": 3}
                """);
        return cfg;
    }

    private static void assertSameFiles(Path a, Path b) throws IOException {
        if (Files.isDirectory(a)) {
            assertEquals(listing(a), listing(b));
            for (String f : listing(a)) assertEquals(-1L, Files.mismatch(a.resolve(f), b.resolve(f)), f);
        } else {
            assertEquals(-1L, Files.mismatch(a, b));
        }
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherWeights() throws IOException {
        String cfg = smallConfig().toString();
        Path out = Files.createDirectory(dir.resolve("out"));
        for (String format : List.of("gguf", "hf")) {
            DType t = format.equals("hf") ? DType.BF16 : DType.Q8_0;
            Path a = out.resolve(format + "-a"), b = out.resolve(format + "-b"), c = out.resolve(format + "-c");
            Synth.run(new Synth.Options(cfg, t, format, 7, a, false), QUIET);
            Synth.run(new Synth.Options(cfg, t, format, 7, b, false), QUIET);
            Synth.run(new Synth.Options(cfg, t, format, 8, c, false), QUIET);
            assertSameFiles(a, b);
            if (format.equals("gguf")) {
                assertNotEquals(-1L, Files.mismatch(a, c));
                assertEquals(Files.size(a), Files.size(c));
            } else {
                assertNotEquals(-1L, Files.mismatch(a.resolve("model.safetensors"), c.resolve("model.safetensors")));
                assertEquals(-1L, Files.mismatch(a.resolve("tokenizer.model"), c.resolve("tokenizer.model")), "tokenizer does not depend on the seed");
            }
        }
        assertEquals(List.of("gguf-a", "gguf-b", "gguf-c", "hf-a", "hf-b", "hf-c"), listing(out));
    }

    @Test
    void quantizedGgufKeepsNormsF32() throws IOException {
        String cfg = smallConfig().toString();
        Path f32 = dir.resolve("f32.gguf"), q8 = dir.resolve("q8.gguf"), q4 = dir.resolve("q4.gguf"), bf = dir.resolve("bf16.gguf");
        Synth.run(new Synth.Options(cfg, DType.F32, "gguf", 3, f32, false), QUIET);
        Synth.run(new Synth.Options(cfg, DType.Q8_0, "gguf", 3, q8, false), QUIET);
        Synth.run(new Synth.Options(cfg, DType.Q4_0, "gguf", 3, q4, false), QUIET);
        Synth.run(new Synth.Options(cfg, DType.BF16, "gguf", 3, bf, false), QUIET);
        MiniGguf a = new MiniGguf(f32), b = new MiniGguf(q8), c = new MiniGguf(q4), d = new MiniGguf(bf);
        assertEquals(7L, b.get("general.file_type"));
        assertEquals(2L, c.get("general.file_type"));
        assertEquals(32L, d.get("general.file_type"));
        for (MiniGguf.Info t : b.tensors) {
            int want = t.ne().length == 1 ? 0 : 8;
            assertEquals(want, t.type(), t.name());
            assertEquals(t.ne().length == 1 ? 0 : 2, c.tensor(t.name()).type(), t.name());
            assertEquals(t.ne().length == 1 ? 0 : 30, d.tensor(t.name()).type(), t.name());
            assertEquals(0, t.offset() % 32);
        }
        assertArrayEquals(a.f32("blk.1.ffn_norm.weight"), b.f32("blk.1.ffn_norm.weight"));
        // Q8_0 data dequantizes to the F32 model's values
        float[] x = a.f32("blk.0.attn_q.weight");
        byte[] q = b.bytes("blk.0.attn_q.weight", x.length / 32 * 34);
        float[] y = new float[x.length];
        Dequant.dequantize(DType.Q8_0, MemorySegment.ofArray(q), 0, y, 0, x.length);
        for (int blk = 0; blk < x.length / 32; blk++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * blk + j]));
            // half a step, plus up to 127 times the f16 rounding of the step (2^-11 relative)
            for (int j = 0; j < 32; j++) assertEquals(x[32 * blk + j], y[32 * blk + j], amax / 127 * (0.5 + 127 * 0x1p-11) + 1e-6);
        }
        // BF16 GGUF = F32 GGUF exactly: the weights are bf16-exact by construction
        byte[] raw = d.bytes("blk.0.attn_q.weight", x.length * 2);
        for (int i = 0; i < x.length; i++) {
            int bits = (raw[2 * i] & 0xFF) | (raw[2 * i + 1] << 8);
            assertEquals(x[i], Float.intBitsToFloat(bits << 16));
        }
    }

    @Test
    void shardedCheckpointHasAnIndex() throws IOException {
        String cfg = smallConfig().toString();
        Path out = dir.resolve("sharded");
        Synth.run(new Synth.Options(cfg, DType.F32, "hf", 1, out, false), QUIET, 300_000, n -> {});
        // embed and lm_head are 256 kB each: they cannot share a shard
        JsonNode index = new ObjectMapper().readTree(out.resolve("model.safetensors.index.json").toFile());
        JsonNode wm = index.get("weight_map");
        Map<String, long[]> want = hfTensors(2, 64, 128, 64, 32, 1000);
        assertEquals(want.size(), wm.size());
        long total = 0;
        var shards = new HashSet<String>();
        for (var e : want.entrySet()) {
            String shard = wm.get(e.getKey()).asText();
            shards.add(shard);
            MiniSafetensors st = new MiniSafetensors(out.resolve(shard));
            var t = st.tensors.get(e.getKey());
            assertNotNull(t, e.getKey() + " in " + shard);
            assertArrayEquals(e.getValue(), t.shape());
            total += t.end() - t.begin();
        }
        assertEquals(total, index.get("metadata").get("total_size").asLong());
        assertTrue(shards.size() >= 3, shards.toString());
        for (String s : shards) assertTrue(s.matches("model-0000[1-9]-of-0000" + shards.size() + "\\.safetensors"), s);
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        List<String> files = listing(out);
        assertEquals(6 + shards.size(), files.size(), files.toString());
    }

    @Test
    void failureMidwayLeavesNothingBehind() throws IOException {
        String cfg = smallConfig().toString();
        Path out = Files.createDirectory(dir.resolve("fail"));
        String victim = "model.layers.1.mlp.up_proj.weight";
        for (String format : List.of("hf", "gguf")) {
            for (long shard : List.of(Synth.HF_MAX_SHARD_BYTES, 300_000L)) {
                Path target = out.resolve("m-" + format + shard);
                RuntimeException e = assertThrows(RuntimeException.class, () -> Synth.run(
                        new Synth.Options(cfg, DType.F32, format, 1, target, false), QUIET, shard, name -> {
                            if (name.equals(victim)) throw new IllegalStateException("simulated crash at " + name);
                        }));
                assertTrue(e.getMessage().contains("simulated crash"), e.getMessage());
                assertEquals(List.of(), listing(out), format + ": nothing at the final path and no temporary");
            }
        }
    }

    @Test
    void refusesWhatItCannotWrite() throws IOException {
        Path out = dir.resolve("x");
        ModelException e = assertThrows(ModelException.class,
                () -> Synth.run(new Synth.Options("tiny", DType.Q8_0, "hf", 1, out, false), QUIET));
        assertFalse(e.getMessage().contains("\n"), "one line");
        assertTrue(e.getMessage().contains("Q8_0") && e.getMessage().contains("gguf"), e.getMessage());
        assertThrows(ModelException.class, () -> Synth.run(new Synth.Options("minitron-2b", DType.F32, "hf", 1, out, false), QUIET));
        assertThrows(ModelException.class, () -> Synth.run(new Synth.Options("tiny", DType.F32, "onnx", 1, out, false), QUIET));
        assertThrows(ModelException.class, () -> Synth.run(new Synth.Options("tiny", DType.Q2_K, "gguf", 1, out, false), QUIET));
        Files.createDirectory(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        assertThrows(ModelException.class, () -> Synth.run(new Synth.Options(smallConfig().toString(), DType.F32, "hf", 1, out, false), QUIET));
        assertEquals(List.of("keep.txt"), listing(out), "an existing folder is left alone");
        assertEquals(List.of("small-config.json", "x"), listing(dir));
    }

    @Test
    void presetsAreTheRealShapes() {
        Config b8 = Synth.shape("minitron-8b");
        assertEquals(List.of(4096, 16384, 32, 48, 8, 128, 64, 256000, 4096),
                List.of(b8.hiddenSize(), b8.intermediateSize(), b8.numLayers(), b8.numHeads(), b8.numKvHeads(), b8.headDim(),
                        b8.rotaryDim(), b8.vocabSize(), b8.maxPositions()));
        assertEquals(6144, b8.qDim());
        Config b4 = Synth.shape("Minitron-4B");
        assertEquals(List.of(3072, 9216, 32, 24, 8, 128, 64, 256000, 4096),
                List.of(b4.hiddenSize(), b4.intermediateSize(), b4.numLayers(), b4.numHeads(), b4.numKvHeads(), b4.headDim(),
                        b4.rotaryDim(), b4.vocabSize(), b4.maxPositions()));
        assertEquals("8.3B", ModelFiles.sizeLabel(8_272_000_000L));
        assertEquals("4.2B", ModelFiles.sizeLabel(4_190_000_000L));
        assertEquals("264K", ModelFiles.sizeLabel(264_000));
        assertEquals(7, ModelFiles.fileType(DType.Q8_0));
        assertEquals(2, ModelFiles.fileType(DType.Q4_0));
        assertEquals(32, ModelFiles.fileType(DType.BF16));
    }

    @Test
    void rotaryFactorRoundTripsThroughConfigJson() throws IOException {
        // 7 rotary dims of a 12-dim head is not even; use 6/18 = 0.333..: int(18 * 0.3333333333333333) must be 6
        Config c = new Config(Config.NEMOTRON, 72, 128, 1, 4, 2, 18, 6, 1000, 64, 1e-5f, 10000f, 1f, 2, 3);
        double p = Synth.partialRotaryFactor(c);
        assertEquals(6, (int) (18 * p));
    }

    @Test
    void progressBarOnlyWhenAsked() throws IOException {
        String cfg = smallConfig().toString();
        ByteArrayOutputStream on = new ByteArrayOutputStream(), off = new ByteArrayOutputStream();
        Synth.run(new Synth.Options(cfg, DType.F16, "gguf", 1, dir.resolve("p.gguf"), true), new PrintStream(on, true, StandardCharsets.UTF_8));
        Synth.run(new Synth.Options(cfg, DType.F16, "gguf", 1, dir.resolve("q.gguf"), false), new PrintStream(off, true, StandardCharsets.UTF_8));
        String bar = on.toString(StandardCharsets.UTF_8);
        assertTrue(bar.contains("100.0%") && bar.contains("/s") && bar.endsWith("\n"), bar);
        assertEquals("", off.toString(StandardCharsets.UTF_8));
    }
}
