package dev.minitron.gpu;

import dev.minitron.Fixtures;
import dev.minitron.Fixtures.Prompt;
import dev.minitron.cpu.Parallel;
import dev.minitron.engine.Forward;
import dev.minitron.engine.ForwardPass;
import dev.minitron.io.ModelLoader;
import dev.minitron.model.Config;
import dev.minitron.model.Model;
import dev.minitron.model.Weights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The embedded demo model against its float64 reference, and the graph variants the Minitron fixtures do not
 * reach (projection biases, no rotary dims) against the CPU path on the same weights. Tolerance 1e-4 as in
 * {@link TornadoGoldenTest}.
 */
class TornadoVsCpuTest {
    static final float TOL = TornadoGoldenTest.TOL;

    @BeforeAll
    static void tornado() {
        OnDevice.assumeTornadoRuntime();
    }

    /**
     * weights/demo (bf16, 4 layers, hidden 256): logits after the prompt and 40 greedy tokens, for the prompts
     * without near ties (golden.json lists one, in prompt 0).
     */
    @Test
    void demoModelMatchesItsReference() {
        Model m = ModelLoader.load(Fixtures.demo());
        int V = m.config().vocabSize();
        try (ForwardPass f = TornadoForward.open(m, 64, null, false, new PrintWriter(new StringWriter()))) {
            for (int i : new int[]{1, 2, 5}) {
                Prompt p = Fixtures.golden(Fixtures.demo().resolve("golden.json")).get(i);
                float[] logits = f.forward(p.tokens(), 0, false);
                float d = Fixtures.maxAbsDiff(logits, 0, p.lastLogits());
                assertTrue(d < TOL, "demo '" + p.text() + "': last logits differ by " + d);
                int[] gen = new int[p.greedyTokens().length];
                for (int s = 0; s < gen.length; s++) {
                    gen[s] = Fixtures.argmax(logits, 0, V);
                    logits = f.forward(new int[]{gen[s]}, p.tokens().length + s, false);
                }
                assertArrayEquals(p.greedyTokens(), gen, "demo '" + p.text() + "': greedy tokens");
            }
        }
    }

    /** Biases on all six projections (the bias tasks and the residual-with-bias order). */
    @Test
    void projectionBiasesMatchTheCpuPath() {
        Model m = ModelLoader.load(Fixtures.path("tiny-a/hf-fp32"));
        Config c = m.config();
        Random r = new Random(3);
        Weights w = m.weights();
        Weights.Layer[] layers = new Weights.Layer[w.layers().length];
        for (int i = 0; i < layers.length; i++) {
            Weights.Layer l = w.layers()[i];
            layers[i] = new Weights.Layer(l.attnNorm(), l.q(), l.k(), l.v(), l.o(),
                    random(r, c.qDim()), random(r, c.kvDim()), random(r, c.kvDim()), random(r, c.hiddenSize()),
                    l.ffnNorm(), l.up(), l.down(), random(r, c.intermediateSize()), random(r, c.hiddenSize()));
        }
        compare(with(m, c, new Weights(w.embed(), layers, w.outNorm(), w.lmHead())), "biases");
    }

    /** A model without rotary dims: the rope task and the rotary tables are left out of the graphs. */
    @Test
    void noRotaryDimsMatchesTheCpuPath() {
        Model m = ModelLoader.load(Fixtures.path("tiny-b/hf-bf16"));
        Config c = m.config();
        Config noRope = new Config(c.architecture(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(),
                c.numKvHeads(), c.headDim(), 0, c.vocabSize(), c.maxPositions(), c.normEps(), c.ropeTheta(), c.ropeScale(),
                c.bosId(), c.eosId());
        compare(with(m, noRope, m.weights()), "rotary 0");
    }

    /** 37 prompt positions (chunks of 16 + 16 + 5), then 5 decode steps, all logits within TOL of the CPU path. */
    private static void compare(Model m, String what) {
        int V = m.config().vocabSize();
        int[] prompt = new int[37];
        for (int i = 0; i < prompt.length; i++) prompt[i] = (i * 37 + 11) % V;
        try (Parallel par = new Parallel(2);
             ForwardPass gpu = TornadoForward.open(m, 48, null, false, new PrintWriter(new StringWriter()))) {
            Forward cpu = new Forward(m.config(), m.weights(), 48, par);
            float[] want = cpu.forward(prompt, 0, true), got = gpu.forward(prompt, 0, true);
            for (int t = 0; t < prompt.length; t++) {
                float[] row = java.util.Arrays.copyOfRange(want, t * V, (t + 1) * V);
                float d = Fixtures.maxAbsDiff(got, t * V, row);
                assertTrue(d < TOL, what + ": position " + t + " differs from the CPU path by " + d);
            }
            for (int s = 0; s < 5; s++) {
                int[] next = {(s * 101 + 7) % V};
                float d = Fixtures.maxAbsDiff(gpu.forward(next, prompt.length + s, false), 0, cpu.forward(next, prompt.length + s, false));
                assertTrue(d < TOL, what + ": decode step " + s + " differs from the CPU path by " + d);
            }
        }
    }

    private static Model with(Model m, Config c, Weights w) {
        return new Model(c, w, m.tokenizer(), m.source(), m.format(), m.tensors(), m.warnings());
    }

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (r.nextFloat() - 0.5f) * 0.2f;
        return v;
    }
}
