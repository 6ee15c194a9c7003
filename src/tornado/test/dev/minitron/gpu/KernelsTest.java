package dev.minitron.gpu;

import dev.minitron.cpu.MatMul;
import dev.minitron.gpu.kernels.Batch;
import dev.minitron.gpu.kernels.Bits16;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

import static dev.minitron.gpu.kernels.MatVec.ACCUMULATE;
import static dev.minitron.gpu.kernels.MatVec.OVERWRITE;
import static dev.minitron.gpu.kernels.MatVec.SQUARED_RELU;
import static dev.minitron.gpu.OnDevice.copy;
import static dev.minitron.gpu.OnDevice.in;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kernel three ways on the same inputs: through TornadoVM on the device, as plain Java (the static method
 * called directly), and against the CPU path or a float64 reference. Tolerances are stated per kernel; copies and
 * decodes must be exact.
 */
class KernelsTest {
    static final int MAX_TOKENS = 4;

    @org.junit.jupiter.api.BeforeAll
    static void tornado() {
        OnDevice.assumeTornadoRuntime();
    }

    // ---- 16-bit decoding -------------------------------------------------------------------------------------

    /** Test-only kernel: decode every word with {@link Bits16}. */
    public static void decodeAll(ShortArray words, FloatArray bf16Scale, FloatArray f16Scale, FloatArray bf16Out,
                                 FloatArray f16Out) {
        for (@Parallel int i = 0; i < words.getSize(); i++) {
            bf16Out.set(i, Bits16.bf16(words.get(i), bf16Scale));
            f16Out.set(i, Bits16.f16(words.get(i), f16Scale));
        }
    }

    /** All 65536 words, exact (bit for bit) against Java's own conversions; inf/NaN patterns are not weights. */
    @Test
    void bits16DecodesEveryFiniteWordExactly() {
        ShortArray words = new ShortArray(65536);
        for (int i = 0; i < 65536; i++) words.set(i, (short) i);
        FloatArray bs = Bits16.bf16Scales(), hs = Bits16.f16Scales();
        FloatArray bf = new FloatArray(65536), hf = new FloatArray(65536);
        OnDevice.run(in(words, bs, hs), g -> g.task("decode", KernelsTest::decodeAll, words, bs, hs, bf, hf), bf, hf);
        FloatArray bfJava = new FloatArray(65536), hfJava = new FloatArray(65536);
        decodeAll(words, bs, hs, bfJava, hfJava);
        for (int i = 0; i < 65536; i++) {
            if (((i >> 7) & 0xFF) != 0xFF) {
                float want = Float.intBitsToFloat(i << 16);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(bfJava.get(i)), "bf16 java " + Integer.toHexString(i));
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(bf.get(i)), "bf16 device " + Integer.toHexString(i));
            }
            if (((i >> 10) & 0x1F) != 0x1F) {
                float want = Float.float16ToFloat((short) i);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(hfJava.get(i)), "f16 java " + Integer.toHexString(i));
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(hf.get(i)), "f16 device " + Integer.toHexString(i));
            }
        }
    }

    // ---- projections and embedding ---------------------------------------------------------------------------

    /**
     * y = W x for 3 tokens. Tolerance per element: 1e-5 x sum_c |w_c x_c| (float32 summation of at most 99
     * terms is within 99 * 2^-24 = 5.9e-6 of that scale), against MatMul (CPU path) and a float64 reference.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16", "Q8_0", "Q4_K", "Q6_K"})
    void matVecMatchesCpuAndFloat64(DType type) {
        checkMatVec(type, OVERWRITE, kQuant(type) ? 512 : 96, false);
    }

    /**
     * The residual form y += W x (o_proj, down_proj) and the fused activation y = relu(W x)^2 (ffn_up), on rows of
     * 99 (the kernels' 4-column steps plus a tail). For the activation the tolerance becomes
     * tol * (2 |ref| + tol): relu is exact and squaring scales an error by at most the sum of the two values.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16"})
    void matVecAccumulatesOnOddWidths(DType type) {
        checkMatVec(type, ACCUMULATE, 99, false);
        checkMatVec(type, SQUARED_RELU, 99, false);
    }

    /**
     * The work-group kernels ({@code kernels.Groups}), plain and residual, on rows of 320 (two strides of 128
     * work-items and a partial one, all in the tail loop) and 1088 (two unrolled steps of 4 x 128, then the tail);
     * K-quant rows of 512 (one unrolled step) and 1280 (two, then two strides of the tail).
     * Same tolerance: a work-item sums at most 3 terms into each of its four sums, then a tree of 7 levels.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16", "Q8_0", "Q4_K", "Q6_K"})
    void matVecGroupsMatchCpuAndFloat64(DType type) {
        for (int cols : kQuant(type) ? new int[]{512, 1280} : new int[]{320, 1088}) {
            for (int mode : new int[]{OVERWRITE, ACCUMULATE, SQUARED_RELU}) checkMatVec(type, mode, cols, true);
        }
    }

    /** K-quant rows are whole super-blocks of 256 weights. */
    private static boolean kQuant(DType type) {
        return type == DType.Q4_K || type == DType.Q6_K;
    }

    private static void checkMatVec(DType type, int mode, int cols, boolean groups) {
        int rows = 40, tokens = 3;
        Tensor w = TestData.matrix(type, rows, cols, 11 + type.ordinal());
        DeviceMatrix dm = DeviceMatrix.of(w);
        DeviceMatrix.Scales s = DeviceMatrix.Scales.create();
        FloatArray x = TestData.floatArray(MAX_TOKENS * cols, 5);
        FloatArray y0 = TestData.floatArray(MAX_TOKENS * rows, 6);
        IntArray batch = TestData.batch(MAX_TOKENS, 0, tokens, 1);
        FloatArray y = copy(y0);
        if (groups) {
            KernelContext kc = new KernelContext();
            OnDevice.runGroups(in(dm.data, s.bf16(), s.f16(), x, batch, y), "matvec", rows,
                    g -> dm.matVecGroups(g, "matvec", kc, s, x, y, batch, Batch.COUNT, mode), y);
        } else {
            OnDevice.run(in(dm.data, s.bf16(), s.f16(), x, batch, y), g -> dm.matVec(g, "matvec", s, x, y, batch, Batch.COUNT, mode), y);
        }
        FloatArray yJava = copy(y0);
        runPlain(dm, s, x, yJava, batch, mode);

        float[] xs = x.toHeapArray(), yCpu = new float[tokens * rows];
        try (dev.minitron.cpu.Parallel par = new dev.minitron.cpu.Parallel(1)) {
            MatMul.matMul(w, xs, tokens, yCpu, par);
        }
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.readRow(r, row, 0);
            for (int t = 0; t < tokens; t++) {
                double ref = 0, scale = 0;
                for (int c = 0; c < cols; c++) {
                    ref += (double) row[c] * xs[t * cols + c];
                    scale += Math.abs((double) row[c] * xs[t * cols + c]);
                }
                float base = mode == ACCUMULATE ? y0.get(t * rows + r) : 0f;
                double tol = 1e-5 * scale + Math.ulp(Math.abs(base) + (float) scale); // + rounding of the add into y
                double cpu = yCpu[t * rows + r];
                if (mode == SQUARED_RELU) {
                    tol = tol * (2 * Math.abs(ref) + tol) + Math.ulp((float) (ref * ref));
                    ref = ref > 0 ? ref * ref : 0;
                    cpu = cpu > 0 ? cpu * cpu : 0;
                }
                int i = t * rows + r;
                String at = type + " mode " + mode + " row " + r + " token " + t;
                assertTrue(Math.abs(y.get(i) - base - ref) <= tol, at + ": device " + (y.get(i) - base) + " vs float64 " + ref);
                assertTrue(Math.abs(yJava.get(i) - base - ref) <= tol, at + ": plain Java " + (yJava.get(i) - base) + " vs float64 " + ref);
                assertTrue(Math.abs(y.get(i) - base - cpu) <= tol, at + ": device vs MatMul " + cpu);
            }
        }
        // rows of the 4th (unused) token slot are left alone
        for (int r = 0; r < rows; r++) assertEquals(y0.get(3 * rows + r), y.get(3 * rows + r));
    }

    private static void runPlain(DeviceMatrix dm, DeviceMatrix.Scales s, FloatArray x, FloatArray y, IntArray batch, int mode) {
        switch (dm.dtype) {
            case F32 -> dev.minitron.gpu.kernels.MatVec.matVecF32((FloatArray) dm.data, x, y, batch, dm.rows, dm.cols, Batch.COUNT, mode);
            case BF16 -> dev.minitron.gpu.kernels.MatVec.matVecBF16((ShortArray) dm.data, s.bf16(), x, y, batch, dm.rows, dm.cols, Batch.COUNT, mode);
            case F16 -> dev.minitron.gpu.kernels.MatVec.matVecF16((ShortArray) dm.data, s.f16(), x, y, batch, dm.rows, dm.cols, Batch.COUNT, mode);
            case Q8_0 -> dev.minitron.gpu.kernels.MatVec.matVecQ8_0((uk.ac.manchester.tornado.api.types.arrays.ByteArray) dm.data, s.f16(), x, y, batch, dm.rows, dm.cols, Batch.COUNT, mode);
            case Q4_K -> dev.minitron.gpu.kernels.MatVec.matVecQ4_K((uk.ac.manchester.tornado.api.types.arrays.ByteArray) dm.data, s.f16(), x, y, batch, dm.rows, dm.cols, Batch.COUNT, mode);
            case Q6_K -> dev.minitron.gpu.kernels.MatVec.matVecQ6_K((uk.ac.manchester.tornado.api.types.arrays.ByteArray) dm.data, s.f16(), x, y, batch, dm.rows, dm.cols, Batch.COUNT, mode);
            default -> throw new IllegalStateException();
        }
    }

    /** Embedding rows for 3 token ids: exact (bit for bit) against the CPU path's row decode. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16", "Q8_0", "Q4_K", "Q6_K"})
    void embeddingCopiesRowsExactly(DType type) {
        int vocab = 40, hidden = kQuant(type) ? 256 : 96;
        int[] ids = {5, 0, 39};
        Tensor table = TestData.matrix(type, vocab, hidden, 21 + type.ordinal());
        DeviceMatrix dm = DeviceMatrix.of(table);
        DeviceMatrix.Scales s = DeviceMatrix.Scales.create();
        IntArray batch = TestData.batch(MAX_TOKENS, 7, ids.length, 1, ids);
        FloatArray x = new FloatArray(MAX_TOKENS * hidden);
        x.init(0f);
        OnDevice.run(in(dm.data, s.bf16(), s.f16(), batch, x), g -> dm.embed(g, "embed", s, batch, x), x);
        FloatArray xJava = new FloatArray(MAX_TOKENS * hidden);
        xJava.init(0f);
        switch (type) {
            case F32 -> dev.minitron.gpu.kernels.Embedding.embedF32((FloatArray) dm.data, batch, xJava, hidden);
            case BF16 -> dev.minitron.gpu.kernels.Embedding.embedBF16((ShortArray) dm.data, s.bf16(), batch, xJava, hidden);
            case F16 -> dev.minitron.gpu.kernels.Embedding.embedF16((ShortArray) dm.data, s.f16(), batch, xJava, hidden);
            case Q8_0 -> dev.minitron.gpu.kernels.Embedding.embedQ8_0((uk.ac.manchester.tornado.api.types.arrays.ByteArray) dm.data, s.f16(), batch, xJava, hidden);
            case Q4_K -> dev.minitron.gpu.kernels.Embedding.embedQ4_K((uk.ac.manchester.tornado.api.types.arrays.ByteArray) dm.data, s.f16(), batch, xJava, hidden);
            case Q6_K -> dev.minitron.gpu.kernels.Embedding.embedQ6_K((uk.ac.manchester.tornado.api.types.arrays.ByteArray) dm.data, s.f16(), batch, xJava, hidden);
            default -> throw new IllegalStateException();
        }
        float[] row = new float[hidden];
        for (int t = 0; t < ids.length; t++) {
            table.readRow(ids[t], row, 0);
            for (int i = 0; i < hidden; i++) {
                assertEquals(Float.floatToRawIntBits(row[i]), Float.floatToRawIntBits(x.get(t * hidden + i)), type + " device token " + t + " dim " + i);
                assertEquals(Float.floatToRawIntBits(row[i]), Float.floatToRawIntBits(xJava.get(t * hidden + i)), type + " java token " + t + " dim " + i);
            }
        }
    }
}
