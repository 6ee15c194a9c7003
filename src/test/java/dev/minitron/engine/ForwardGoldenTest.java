package dev.minitron.engine;

import dev.minitron.Fixtures;
import dev.minitron.Fixtures.Prompt;
import dev.minitron.cpu.Parallel;
import dev.minitron.io.SafeTensors;
import dev.minitron.model.Config;
import dev.minitron.model.Weights;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The forward pass on HF checkpoints against the float64 reference, from the golden token ids (no tokenizer). */
class ForwardGoldenTest {
    /** Two correct float32 implementations agree within ~1e-5 on these logits (|logit| <= ~11). */
    static final float TOL = 1e-4f;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-a/hf-fp32", "tiny-a/hf-bf16", "tiny-b/hf-fp32", "tiny-b/hf-bf16"})
    void matchesGolden(String folder) {
        Path dir = Fixtures.path(folder);
        Config c = Config.fromHfJson(dir.resolve("config.json"));
        Weights w = Weights.from(c, SafeTensors.read(dir.resolve("model.safetensors")), false, folder);
        List<Prompt> golden = Fixtures.golden(dir.getParent().resolve("golden.json"));
        try (Parallel par = new Parallel(2)) {
            for (Prompt p : golden) check(c, w, par, p, folder);
        }
    }

    static void check(Config c, Weights w, Parallel par, Prompt p, String what) {
        int V = c.vocabSize();
        Forward f = new Forward(c, w, 128, par);
        float[] all = f.forward(p.tokens(), 0, true);
        int T = p.tokens().length;
        float d = Fixtures.maxAbsDiff(all, (T - 1) * V, p.lastLogits());
        assertTrue(d < TOL, what + " '" + p.text() + "': last logits differ by " + d);
        if (p.allPromptLogits() != null) {
            for (int t = 0; t < T; t++) {
                float dt = Fixtures.maxAbsDiff(all, t * V, p.allPromptLogits()[t]);
                assertTrue(dt < TOL, what + ": prefill position " + t + " differs by " + dt);
            }
        }
        // greedy continuation through the KV cache, one token at a time
        int[] gen = new int[p.greedyTokens().length];
        float[] logits = Arrays.copyOfRange(all, (T - 1) * V, T * V);
        for (int i = 0; i < gen.length; i++) {
            gen[i] = Fixtures.argmax(logits, 0, V);
            logits = f.forward(new int[]{gen[i]}, T + i, false);
            if (p.stepLogits() != null && i < p.stepLogits().length) {
                float ds = Fixtures.maxAbsDiff(logits, 0, p.stepLogits()[i]);
                assertTrue(ds < TOL, what + ": step " + i + " logits differ by " + ds);
            }
        }
        assertArrayEquals(p.greedyTokens(), gen, what + " '" + p.text() + "': greedy tokens");
    }
}
