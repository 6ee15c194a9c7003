package dev.minitron.gpu.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/** Element-wise steps: Nemotron's squared-ReLU activation and bias adds (for checkpoints that have biases). */
public final class Ffn {
    private Ffn() {}

    /** {@code v = relu(v)^2} in place over {@code [tokens, width]}. */
    public static void squaredRelu(FloatArray v, IntArray batch, int width) {
        int tokens = batch.get(Batch.COUNT);
        for (@Parallel int i = 0; i < width; i++) {
            for (int t = 0; t < tokens; t++) {
                v.set(t * width + i, squaredRelu(v.get(t * width + i)));
            }
        }
    }

    /** Nemotron's activation: {@code relu(x)^2}. */
    static float squaredRelu(float x) {
        float r = x > 0f ? x : 0f;
        return r * r;
    }

    /** {@code v[t] += bias} over {@code [tokens, width]}. */
    public static void addBias(FloatArray v, FloatArray bias, IntArray batch, int width) {
        int tokens = batch.get(Batch.COUNT);
        for (@Parallel int i = 0; i < width; i++) {
            for (int t = 0; t < tokens; t++) {
                v.set(t * width + i, v.get(t * width + i) + bias.get(i));
            }
        }
    }
}
