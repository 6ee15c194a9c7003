package dev.minitron.gpu;

import dev.minitron.Fixtures;
import dev.minitron.Fixtures.Prompt;
import dev.minitron.engine.ForwardPass;
import dev.minitron.io.ModelLoader;
import dev.minitron.model.Model;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on the TornadoVM device against the fixtures' float64 references (fixtures README), every
 * weight format the kernels read: prefill logits of every prompt position (prompt 1: 41 tokens, i.e. chunks of
 * 16 + 16 + 9), the logits after each of the first decode steps through the device KV cache, and the 20-token
 * greedy continuation, which must be identical (the smallest top-2 gap on these paths is 0.002; fixtures README).
 *
 * <p>Tolerance: 1e-4 absolute on logits up to ~11, for every dtype. The 16-bit, Q8_0, Q4_K and Q6_K weights are
 * decoded exactly on the device (Bits16 and the embedding kernels, tested bit for bit), and the quantized files
 * (tiny-a Q8_0; tiny-k Q4_K_M, which mixes Q4_K and Q6_K, and Q6_K) are compared with references
 * computed on their own dequantized weights, so every case is the same float32-vs-float64 comparison. What
 * separates the two paths from the reference is float32 rounding: the CPU path agrees within 1e-4 (its own
 * golden tests); the device path sums in a different order and uses OpenCL's exp/sqrt (TornadoVM compiles with
 * -cl-fast-relaxed-math): measured at most 1.2e-5 on PoCL (Q4_K_M GGUF; F16 7.4e-6, F32 7.3e-6, Q6_K 6.7e-6,
 * Q8_0 5.0e-6). The deliberate mistakes listed in NEMOTRON.md move these logits by 4 to 11, so the margin is
 * about 4 orders of magnitude either way.
 */
class TornadoGoldenTest {
    static final float TOL = 1e-4f;
    /** Prompts per model: 1 (41 tokens, all-position logits), 5 (7 tokens), 6 (BOS only). */
    static final int[] PROMPTS = {1, 5, 6};

    @BeforeAll
    static void tornado() {
        OnDevice.assumeTornadoRuntime();
    }

    /**
     * Each model with the device's default kernels (on PoCL the one-row loops) and, for one model per dtype, with
     * the work-group kernels that GPUs run ({@code -Dminitron.gpu.kernels=groups}); the same tolerance for both:
     * the sums are only reordered. A few also with all layers in one task graph ({@code merged}, fourth column).
     */
    @ParameterizedTest(name = "{0} ({2} kernels, {3} graphs)")
    @CsvSource({
            "tiny-a/hf-fp32, tiny-a/golden.json, auto, layers",
            "tiny-a/gguf/tiny-a-f32.gguf, tiny-a/golden.json, auto, layers",
            "tiny-b/hf-fp32, tiny-b/golden.json, auto, layers",
            "tiny-b/gguf/tiny-b-f32.gguf, tiny-b/golden.json, auto, layers",
            "tiny-a/hf-bf16, tiny-a/golden.json, auto, layers",
            "tiny-b/hf-bf16, tiny-b/golden.json, auto, layers",
            "tiny-a/gguf/tiny-a-bf16.gguf, tiny-a/gguf/golden-bf16-dequant.json, auto, layers",
            "tiny-a/gguf/tiny-a-f16.gguf, tiny-a/gguf/golden-f16-dequant.json, auto, layers",
            "tiny-a/gguf/tiny-a-q8_0.gguf, tiny-a/gguf/golden-q8_0-dequant.json, auto, layers",
            "tiny-k/gguf/tiny-k-q4_k_m.gguf, tiny-k/gguf/golden-q4_k_m-dequant.json, auto, layers",
            "tiny-k/gguf/tiny-k-q6_k.gguf, tiny-k/gguf/golden-q6_k-dequant.json, auto, layers",
            "tiny-a/hf-fp32, tiny-a/golden.json, groups, layers",
            "tiny-b/gguf/tiny-b-f32.gguf, tiny-b/golden.json, groups, layers",
            "tiny-a/hf-bf16, tiny-a/golden.json, groups, layers",
            "tiny-a/gguf/tiny-a-f16.gguf, tiny-a/gguf/golden-f16-dequant.json, groups, layers",
            "tiny-a/gguf/tiny-a-q8_0.gguf, tiny-a/gguf/golden-q8_0-dequant.json, groups, layers",
            "tiny-k/gguf/tiny-k-q4_k_m.gguf, tiny-k/gguf/golden-q4_k_m-dequant.json, groups, layers",
            "tiny-k/gguf/tiny-k-q6_k.gguf, tiny-k/gguf/golden-q6_k-dequant.json, groups, layers",
            "tiny-a/hf-fp32, tiny-a/golden.json, auto, merged",
            "tiny-b/hf-bf16, tiny-b/golden.json, groups, merged",
            "tiny-k/gguf/tiny-k-q4_k_m.gguf, tiny-k/gguf/golden-q4_k_m-dequant.json, groups, merged",
    })
    void matchesReference(String model, String golden, String kernels, String graphs) {
        Model m = ModelLoader.load(Fixtures.path(model));
        List<Prompt> prompts = Fixtures.golden(Fixtures.path(golden));
        StringWriter log = new StringWriter();
        float worst = 0;
        System.setProperty(TornadoForward.KERNELS, kernels);
        System.setProperty(TornadoForward.GRAPHS, graphs);
        try (ForwardPass f = TornadoForward.open(m, 64, null, false, new PrintWriter(log, true))) {
            assertTrue(log.toString().contains("JIT compile"), log.toString());
            if (kernels.equals("groups")) assertTrue(log.toString().contains("work-group kernels"), log.toString());
            if ("merged".equals(graphs)) assertTrue(log.toString().contains("; 2 task graphs"), log.toString());
            for (int i : PROMPTS) worst = Math.max(worst, check(f, prompts.get(i), model));
        } finally {
            System.clearProperty(TornadoForward.KERNELS);
            System.clearProperty(TornadoForward.GRAPHS);
        }
        System.out.printf("%s (%s kernels, %s graphs): max |logit - reference| = %.2e%n", model, kernels, graphs, worst);
    }

    /** Runs one prompt; returns the largest logit difference seen. */
    static float check(ForwardPass f, Prompt p, String what) {
        int V = f.config().vocabSize(), T = p.tokens().length;
        float worst = 0;
        float[] all = f.forward(p.tokens(), 0, true);
        assertEquals(T * V, all.length);
        float d = Fixtures.maxAbsDiff(all, (T - 1) * V, p.lastLogits());
        worst = Math.max(worst, d);
        assertTrue(d < TOL, what + " '" + p.text() + "': last logits differ by " + d);
        if (p.allPromptLogits() != null) {
            for (int t = 0; t < T; t++) {
                float dt = Fixtures.maxAbsDiff(all, t * V, p.allPromptLogits()[t]);
                worst = Math.max(worst, dt);
                assertTrue(dt < TOL, what + ": prefill position " + t + " differs by " + dt);
            }
        }
        // the last-position-only path gives the same row
        float[] last = f.forward(p.tokens(), 0, false);
        assertArrayEquals(Arrays.copyOfRange(all, (T - 1) * V, T * V), last, 0f, what + ": last-only logits");

        int[] gen = new int[p.greedyTokens().length];
        float[] logits = last;
        for (int i = 0; i < gen.length; i++) {
            gen[i] = Fixtures.argmax(logits, 0, V);
            logits = f.forward(new int[]{gen[i]}, T + i, false);
            if (p.stepLogits() != null && i < p.stepLogits().length) {
                float ds = Fixtures.maxAbsDiff(logits, 0, p.stepLogits()[i]);
                worst = Math.max(worst, ds);
                assertTrue(ds < TOL, what + ": step " + i + " logits differ by " + ds);
            }
        }
        assertArrayEquals(p.greedyTokens(), gen, what + " '" + p.text() + "': greedy tokens");
        // the device argmax agrees with the host's on the last decode step (the cache already holds T + 19 positions)
        TornadoForward tf = (TornadoForward) f;
        int n = gen.length - 1;
        assertEquals(Fixtures.argmax(f.forward(new int[]{gen[n - 1]}, T + n - 1, false), 0, V),
                tf.forwardArgmax(new int[]{gen[n - 1]}, T + n - 1), what + ": device argmax");
        return worst;
    }
}
