package dev.minitron.jmh;

import dev.minitron.cpu.MatMul;
import dev.minitron.cpu.Parallel;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import dev.minitron.tensor.Quantize;
import dev.minitron.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Matrix-vector (decode, tokens = 1) and matrix-matrix (prefill, tokens > 1) products per weight dtype, on a
 * Minitron-4B {@code up_proj} shape (9216 x 3072). The weights are cycled through {@code copies} distinct
 * matrices (more than the L3 cache) so decode reads them from memory as it does in a real model. Divide the
 * bytes of one matrix by the time to get GB/s; multiply {@code 2 * rows * cols * tokens} for FLOP/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class KernelBench {
    @Param({"F32", "BF16", "F16", "Q8_0", "Q4_0"})
    String dtype;
    @Param({"1", "32"})
    int tokens;
    @Param({"2"})
    int threads;

    static final int ROWS = 9216, COLS = 3072, COPIES = 8;
    Tensor[] weights;
    float[] x, y;
    Parallel par;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
        DType t = DType.valueOf(dtype);
        SplittableRandom r = new SplittableRandom(7);
        weights = new Tensor[COPIES];
        float[] row = new float[COLS];
        for (int m = 0; m < COPIES; m++) {
            MemorySegment s = Arena.ofAuto().allocate(t.bytesFor((long) ROWS * COLS), 64);
            long rb = t.bytesFor(COLS);
            for (int i = 0; i < ROWS; i++) {
                for (int c = 0; c < COLS; c++) row[c] = (float) r.nextGaussian() * 0.02f;
                MemorySegment.copy(MemorySegment.ofArray(Quantize.encode(t, row)), 0, s, i * rb, rb);
            }
            weights[m] = new Tensor("w" + m, t, new long[]{ROWS, COLS}, s);
        }
        x = new float[tokens * COLS];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        y = new float[tokens * ROWS];
        par = new Parallel(threads);
    }

    @TearDown
    public void tearDown() {
        par.close();
    }

    @Benchmark
    public float matMul() {
        Tensor w = weights[next++ % COPIES];
        MatMul.matMul(w, x, tokens, y, par);
        return y[0];
    }

    /** Scalar dequantize-then-dot reference, one thread, decode only: what the Vector API kernels replace. */
    @Benchmark
    public float scalarReference() {
        if (tokens != 1) return 0;
        Tensor w = weights[next++ % COPIES];
        float[] row = new float[COLS];
        float s = 0;
        for (int i = 0; i < ROWS; i += 16) { // a sixteenth of the rows, to keep the run short
            Dequant.dequantize(w.dtype(), w.data(), i * w.rowBytes(), row, 0, COLS);
            for (int c = 0; c < COLS; c++) s += row[c] * x[c];
        }
        return s;
    }
}
