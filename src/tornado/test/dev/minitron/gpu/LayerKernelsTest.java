package dev.minitron.gpu;

import dev.minitron.gpu.kernels.Argmax;
import dev.minitron.gpu.kernels.Attention;
import dev.minitron.gpu.kernels.Ffn;
import dev.minitron.gpu.kernels.Groups;
import dev.minitron.gpu.kernels.Norm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import static dev.minitron.gpu.OnDevice.copy;
import static dev.minitron.gpu.OnDevice.in;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The non-projection kernels of a layer, each through TornadoVM and as plain Java on the same inputs, against a
 * float64 reference of the math in docs/NEMOTRON.md (the CPU path's helpers are package-private; the references
 * below follow engine/Forward line by line). Shapes are tiny-a's: 4 query heads, 2 KV heads, head_dim 16,
 * rotary 8.
 */
class LayerKernelsTest {
    static final int MAX_TOKENS = 4, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 16, ROT = 8, CONTEXT = 12;
    static final int QDIM = HEADS * HEAD_DIM, KVDIM = KV_HEADS * HEAD_DIM;

    @BeforeAll
    static void tornado() {
        OnDevice.assumeTornadoRuntime();
    }

    /**
     * LayerNorm1P over 3 rows of 96 with mean 3 (so the mean subtraction matters). Tolerance 2e-5 absolute on
     * outputs of magnitude up to ~6: float32 two-pass statistics over 96 values are within ~100 ulps of float64.
     * Also the final-norm form: only the last OUT_COUNT rows, written from row 0.
     */
    @ParameterizedTest(name = "work-groups {0}")
    @ValueSource(booleans = {false, true})
    void layerNormMatchesFloat64(boolean groups) {
        int hidden = 96, tokens = 3;
        float eps = 1e-5f;
        float[] xs = TestData.floats(MAX_TOKENS * hidden, 31);
        for (int i = 0; i < xs.length; i++) xs[i] = 3f + 2f * xs[i];
        FloatArray x = FloatArray.fromArray(xs);
        FloatArray gamma = TestData.floatArray(hidden, 32), beta = TestData.floatArray(hidden, 33);
        for (int i = 0; i < hidden; i++) gamma.set(i, 1f + gamma.get(i) / 2);
        for (int lastRowsOnly = 0; lastRowsOnly <= 1; lastRowsOnly++) {
            int flag = lastRowsOnly;
            IntArray batch = TestData.batch(MAX_TOKENS, 0, tokens, 1);
            FloatArray out = new FloatArray(MAX_TOKENS * hidden), outJava = new FloatArray(MAX_TOKENS * hidden);
            out.init(0f);
            outJava.init(0f);
            if (groups) {
                KernelContext kc = new KernelContext();
                OnDevice.runGroups(in(x, gamma, beta, batch, out), "norm", MAX_TOKENS,
                        g -> g.task("norm", Groups::layerNorm1p, kc, x, out, gamma, beta, batch, hidden, eps, flag), out);
            } else {
                OnDevice.run(in(x, gamma, beta, batch, out),
                        g -> g.task("norm", Norm::layerNorm1p, x, out, gamma, beta, batch, hidden, eps, MAX_TOKENS, flag), out);
            }
            Norm.layerNorm1p(x, outJava, gamma, beta, batch, hidden, eps, MAX_TOKENS, flag);
            int rows = flag == 1 ? 1 : tokens, first = tokens - rows;
            for (int r = 0; r < rows; r++) {
                double mean = 0, var = 0;
                for (int i = 0; i < hidden; i++) mean += xs[(first + r) * hidden + i];
                mean /= hidden;
                for (int i = 0; i < hidden; i++) var += Math.pow(xs[(first + r) * hidden + i] - mean, 2);
                var /= hidden;
                for (int i = 0; i < hidden; i++) {
                    double ref = (xs[(first + r) * hidden + i] - mean) / Math.sqrt(var + eps) * gamma.get(i) + beta.get(i);
                    assertEquals(ref, out.get(r * hidden + i), 2e-5, "device row " + r + " dim " + i + " lastRowsOnly " + flag);
                    assertEquals(ref, outJava.get(r * hidden + i), 2e-5, "java row " + r + " dim " + i);
                }
            }
            assertEquals(0f, out.get(rows * hidden), "rows past the batch are untouched");
        }
    }

    /**
     * Partial NeoX rotary for 3 tokens at positions 5..7, q and k. Tolerance 1e-6 absolute (one rotation of values
     * in [-1, 1] with the same float cos/sin tables); the dims past the rotary ones must be untouched (exact).
     */
    @Test
    void ropeRotatesFirstDimsInHalfOffsetPairs() {
        int tokens = 3, pos = 5, pairs = ROT / 2;
        FloatArray cos = new FloatArray(CONTEXT * pairs), sin = new FloatArray(CONTEXT * pairs);
        for (int p = 0; p < CONTEXT; p++) {
            for (int j = 0; j < pairs; j++) {
                double angle = p * Math.pow(10000, -2.0 * j / ROT);
                cos.set(p * pairs + j, (float) Math.cos(angle));
                sin.set(p * pairs + j, (float) Math.sin(angle));
            }
        }
        FloatArray q0 = TestData.floatArray(MAX_TOKENS * QDIM, 41), k0 = TestData.floatArray(MAX_TOKENS * KVDIM, 42);
        FloatArray q = copy(q0), k = copy(k0), qJava = copy(q0), kJava = copy(k0);
        IntArray batch = TestData.batch(MAX_TOKENS, pos, tokens, 1);
        OnDevice.run(in(q, k, cos, sin, batch),
                g -> g.task("rope", Attention::rope, q, k, cos, sin, batch, HEADS, KV_HEADS, HEAD_DIM, ROT), q, k);
        Attention.rope(qJava, kJava, cos, sin, batch, HEADS, KV_HEADS, HEAD_DIM, ROT);
        checkRope(q0, q, qJava, HEADS, tokens, pos, cos, sin);
        checkRope(k0, k, kJava, KV_HEADS, tokens, pos, cos, sin);
    }

    private static void checkRope(FloatArray before, FloatArray device, FloatArray java, int heads, int tokens, int pos,
                                  FloatArray cos, FloatArray sin) {
        int pairs = ROT / 2;
        for (int t = 0; t < MAX_TOKENS; t++) {
            for (int h = 0; h < heads; h++) {
                int base = (t * heads + h) * HEAD_DIM;
                for (int d = 0; d < HEAD_DIM; d++) {
                    double want = before.get(base + d);
                    if (t < tokens && d < ROT) {
                        int j = d % pairs, p = pos + t;
                        double c = cos.get(p * pairs + j), s = sin.get(p * pairs + j);
                        double a = before.get(base + j), b = before.get(base + j + pairs);
                        want = d < pairs ? a * c - b * s : b * c + a * s;
                        assertEquals(want, device.get(base + d), 1e-6, "device t" + t + " h" + h + " d" + d);
                        assertEquals(want, java.get(base + d), 1e-6, "java t" + t + " h" + h + " d" + d);
                    } else {
                        assertEquals((float) want, device.get(base + d), "untouched t" + t + " h" + h + " d" + d);
                    }
                }
            }
        }
    }

    /** The cache write: exact copies into rows pos..pos+T-1, other rows untouched. */
    @Test
    void kvCacheWriteCopiesRowsAtPos() {
        int tokens = 3, pos = 4;
        FloatArray k = TestData.floatArray(MAX_TOKENS * KVDIM, 51), v = TestData.floatArray(MAX_TOKENS * KVDIM, 52);
        FloatArray kc = new FloatArray(CONTEXT * KVDIM), vc = new FloatArray(CONTEXT * KVDIM);
        kc.init(9f);
        vc.init(9f);
        FloatArray kcJava = copy(kc), vcJava = copy(vc);
        IntArray batch = TestData.batch(MAX_TOKENS, pos, tokens, 1);
        OnDevice.run(in(k, v, kc, vc, batch), g -> g.task("kv", Attention::writeKvCache, k, v, kc, vc, batch, KVDIM), kc, vc);
        Attention.writeKvCache(k, v, kcJava, vcJava, batch, KVDIM);
        for (int p = 0; p < CONTEXT; p++) {
            for (int i = 0; i < KVDIM; i++) {
                boolean written = p >= pos && p < pos + tokens;
                float wantK = written ? k.get((p - pos) * KVDIM + i) : 9f, wantV = written ? v.get((p - pos) * KVDIM + i) : 9f;
                assertEquals(wantK, kc.get(p * KVDIM + i), "k pos " + p);
                assertEquals(wantV, vc.get(p * KVDIM + i), "v pos " + p);
                assertEquals(wantK, kcJava.get(p * KVDIM + i));
                assertEquals(wantV, vcJava.get(p * KVDIM + i));
            }
        }
    }

    /**
     * Causal GQA for 2 tokens at positions {@code pos} and {@code pos + 1} (cache rows 0..pos+1 filled), with a
     * context of 12 and of 300 (more positions than a work-group has work-items, so each one loops over several).
     * Tolerance max(1e-5, n * 2^-24) absolute, n the positions summed: outputs are convex combinations of values in
     * [-1, 1], float32 dot products of 16 terms, a softmax and a weighted sum over at most n terms.
     */
    @ParameterizedTest(name = "work-groups {0}, context {1}, pos {2}")
    @CsvSource({"false, 12, 3", "true, 12, 3", "false, 300, 290", "true, 300, 290"})
    void attentionMatchesFloat64(boolean groups, int context, int pos) {
        int tokens = 2, group = HEADS / KV_HEADS;
        float scale = (float) (1.0 / Math.sqrt(HEAD_DIM));
        FloatArray q = TestData.floatArray(MAX_TOKENS * QDIM, 61);
        FloatArray kc = TestData.floatArray(context * KVDIM, 62), vc = TestData.floatArray(context * KVDIM, 63);
        for (int i = 3 * q.getSize() / 4; i < q.getSize(); i++) q.set(i, 100f); // unused token slot: must not matter
        FloatArray scores = new FloatArray(MAX_TOKENS * HEADS * context), out = new FloatArray(MAX_TOKENS * QDIM);
        out.init(7f);
        FloatArray outJava = copy(out), scoresJava = copy(scores);
        IntArray batch = TestData.batch(MAX_TOKENS, pos, tokens, 1);
        if (groups) {
            KernelContext ctx = new KernelContext();
            OnDevice.runGroups(in(q, kc, vc, scores, out, batch), "attention", MAX_TOKENS * HEADS, g -> g.task("attention",
                    Groups::attention, ctx, q, kc, vc, scores, out, batch, HEADS, group, HEAD_DIM, KVDIM, context, scale), out);
        } else {
            OnDevice.run(in(q, kc, vc, scores, out, batch), g -> g.task("attention", Attention::attention, q, kc, vc, scores, out, batch,
                    HEADS, group, HEAD_DIM, KVDIM, context, MAX_TOKENS, scale), out);
        }
        Attention.attention(q, kc, vc, scoresJava, outJava, batch, HEADS, group, HEAD_DIM, KVDIM, context, MAX_TOKENS, scale);
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < HEADS; h++) {
                int n = pos + t + 1, kvo = (h / group) * HEAD_DIM, qo = (t * HEADS + h) * HEAD_DIM;
                double[] s = new double[n];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int p = 0; p < n; p++) {
                    for (int i = 0; i < HEAD_DIM; i++) s[p] += (double) q.get(qo + i) * kc.get(p * KVDIM + kvo + i);
                    s[p] /= Math.sqrt(HEAD_DIM);
                    max = Math.max(max, s[p]);
                }
                for (int p = 0; p < n; p++) sum += s[p] = Math.exp(s[p] - max);
                for (int i = 0; i < HEAD_DIM; i++) {
                    double ref = 0;
                    for (int p = 0; p < n; p++) ref += s[p] / sum * vc.get(p * KVDIM + kvo + i);
                    double tol = Math.max(1e-5, n * 0x1p-24);
                    assertEquals(ref, out.get(qo + i), tol, "device t" + t + " h" + h + " i" + i);
                    assertEquals(ref, outJava.get(qo + i), tol, "java t" + t + " h" + h + " i" + i);
                }
            }
        }
        assertEquals(7f, out.get(tokens * QDIM), "token slots past the batch are untouched");
    }

    /** Squared ReLU and the bias add: exact (same single float operations on both sides). */
    @Test
    void squaredReluAndBiasAreExact() {
        int width = 50, tokens = 3;
        FloatArray v0 = TestData.floatArray(MAX_TOKENS * width, 71), bias = TestData.floatArray(width, 72);
        FloatArray v = copy(v0), vJava = copy(v0);
        IntArray batch = TestData.batch(MAX_TOKENS, 0, tokens, 1);
        OnDevice.run(in(v, bias, batch), g -> g.task("bias", Ffn::addBias, v, bias, batch, width)
                .task("relu2", Ffn::squaredRelu, v, batch, width), v);
        Ffn.addBias(vJava, bias, batch, width);
        Ffn.squaredRelu(vJava, batch, width);
        for (int i = 0; i < MAX_TOKENS * width; i++) {
            float want = v0.get(i);
            if (i < tokens * width) {
                float b = v0.get(i) + bias.get(i % width);
                want = b > 0 ? b * b : 0f;
            }
            assertEquals(want, v.get(i), "device " + i);
            assertEquals(want, vJava.get(i), "java " + i);
        }
    }

    /** Argmax of the last logits row: exact, ties to the lower id, chunks that do not divide the vocabulary. */
    @Test
    void argmaxFindsFirstLargestOfLastRow() {
        int vocab = 1000, chunks = 16;
        FloatArray logits = TestData.floatArray(3 * vocab, 81);
        logits.set(vocab + 937, 5f);   // row 1 = last output row
        logits.set(vocab + 999, 5f);   // a tie: the lower id wins
        logits.set(2 * vocab + 3, 50f); // row 2 is past OUT_COUNT: ignored
        IntArray batch = TestData.batch(MAX_TOKENS, 0, 2, 2);
        FloatArray bestValue = new FloatArray(chunks);
        IntArray bestIndex = new IntArray(chunks), result = new IntArray(1);
        OnDevice.run(in(logits, batch), g -> g.task("partial", Argmax::argmaxPartial, logits, batch, bestValue, bestIndex, vocab, chunks)
                .task("final", Argmax::argmaxFinal, bestValue, bestIndex, result, chunks), result);
        assertEquals(937, result.get(0));
        IntArray resultJava = new IntArray(1);
        Argmax.argmaxPartial(logits, batch, bestValue, bestIndex, vocab, chunks);
        Argmax.argmaxFinal(bestValue, bestIndex, resultJava, chunks);
        assertEquals(937, resultJava.get(0));
    }
}
