package dev.minitron.tools;

import dev.minitron.cpu.Parallel;
import dev.minitron.engine.Forward;
import dev.minitron.io.ModelLoader;
import dev.minitron.model.Model;
import dev.minitron.tensor.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** The synthetic models through the project's own loader, tokenizer and forward pass. */
class SynthLoadTest {
    @TempDir static Path dir;
    static Model hf, gguf, q8;

    @BeforeAll
    static void write() {
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        Synth.run(new Synth.Options("tiny", DType.BF16, "hf", 9, dir.resolve("hf"), false), quiet);
        Synth.run(new Synth.Options("tiny", DType.BF16, "gguf", 9, dir.resolve("bf16.gguf"), false), quiet);
        Synth.run(new Synth.Options("tiny", DType.Q8_0, "gguf", 9, dir.resolve("q8_0.gguf"), false), quiet);
        hf = ModelLoader.load(dir.resolve("hf"));
        gguf = ModelLoader.load(dir.resolve("bf16.gguf"));
        q8 = ModelLoader.load(dir.resolve("q8_0.gguf"));
    }

    @Test
    void loadsWithoutWarningsAndTheSameConfig() {
        assertEquals(Synth.shape("tiny"), hf.config());
        assertEquals(Synth.shape("tiny"), gguf.config());
        assertEquals(Synth.shape("tiny"), q8.config());
        assertEquals(java.util.List.of(), gguf.warnings());
    }

    @Test
    void tokenizersAgreeWithSentencePiece() {
        // ids and pieces from Python sentencepiece 0.1.97 on this tokenizer.model
        String text = "The three little pigs went home.";
        String[] spm = {"\u2581The", "\u2581thr", "ee", "\u2581litt", "le", "\u2581p", "igs", "\u2581went", "\u2581home", "."};
        int[] a = hf.tokenizer().encode(text), b = gguf.tokenizer().encode(text);
        assertArrayEquals(a, b, "HF folder and GGUF vocabularies tokenize alike");
        String[] pieces = Arrays.stream(a).mapToObj(hf.tokenizer()::piece).toArray(String[]::new);
        assertArrayEquals(spm, pieces);
        assertEquals(text, hf.tokenizer().decode(a));
        String other = "naïve café — 東京 😀 12345";
        assertEquals(other, gguf.tokenizer().decode(gguf.tokenizer().encode(other)), "byte fallback round trip");
    }

    @Test
    void logitsAreFiniteVariedAndAgreeAcrossFormats() {
        int[] ids = hf.tokenizer().encodeWithSpecials("The three little pigs went home.", true);
        float[] lh, lg, lq;
        try (Parallel par = new Parallel(2)) {
            lh = new Forward(hf.config(), hf.weights(), 64, par).forward(ids, 0, false);
            lg = new Forward(gguf.config(), gguf.weights(), 64, par).forward(ids, 0, false);
            lq = new Forward(q8.config(), q8.weights(), 64, par).forward(ids, 0, false);
        }
        double mean = 0, var = 0;
        for (float v : lh) {
            assertTrue(Float.isFinite(v));
            mean += v;
        }
        mean /= lh.length;
        for (float v : lh) var += (v - mean) * (v - mean);
        double std = Math.sqrt(var / lh.length);
        assertTrue(std > 1 && std < 10, "logit std " + std);
        double maxHg = 0, maxHq = 0;
        for (int i = 0; i < lh.length; i++) {
            maxHg = Math.max(maxHg, Math.abs(lh[i] - lg[i]));
            maxHq = Math.max(maxHq, Math.abs(lh[i] - lq[i]));
        }
        assertTrue(maxHg < 1e-3 * std, "HF bf16 vs GGUF bf16: " + maxHg);
        assertTrue(maxHq < 0.1 * std, "HF bf16 vs GGUF q8_0: " + maxHq);
    }
}
