package dev.minitron.engine;

import dev.minitron.cpu.Parallel;
import dev.minitron.model.Config;
import dev.minitron.model.Weights.Norm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The CPU path's non-matrix layer steps on Minitron-4B attention dimensions (hidden 3072, 24 query heads and
 * 8 KV heads of 128): LayerNorm1P over {@code tokens} rows, and grouped-query attention for {@code tokens} new
 * positions after {@code past} cached ones (decode: tokens = 1; prefill: tokens = 128, past = 0). Not part of
 * the tests; run with {@code bench/jmh.sh LayerBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class LayerBench {
    @Param({"1", "128"})
    int tokens;
    @Param({"0", "1023"})
    int past;
    @Param({"2"})
    int threads;

    static final Config SHAPE = new Config(Config.NEMOTRON, 3072, 9216, 1, 24, 8, 128, 64, 1000, 4096,
            1e-5f, 10000f, 1f, 2, 3);
    Forward f;
    Forward.Buffers b;
    Norm norm;
    Parallel par;

    @Setup
    public void setUp() {
        par = new Parallel(threads);
        f = new Forward(SHAPE, null, past + tokens, par);
        b = f.buffers(tokens);
        SplittableRandom r = new SplittableRandom(3);
        fill(b.x, r);
        fill(b.q, r);
        fill(f.keyCache[0], r);
        fill(f.valueCache[0], r);
        float[] gamma = new float[SHAPE.hiddenSize()], beta = new float[SHAPE.hiddenSize()];
        fill(gamma, r);
        fill(beta, r);
        norm = new Norm(gamma, beta);
    }

    private static void fill(float[] a, SplittableRandom r) {
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
    }

    @TearDown
    public void tearDown() {
        par.close();
    }

    @Benchmark
    public float layerNorm1p() {
        f.layerNorm1p(b.x, b.h, tokens, norm);
        return b.h[0];
    }

    @Benchmark
    public float attention() {
        f.attention(0, tokens, past, b);
        return b.att[0];
    }
}
