package dev.minitron.gpu;

import dev.minitron.model.Weights;
import dev.minitron.tensor.Tensor;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The model's weights as TornadoVM arrays, each matrix in its own dtype ({@link DeviceMatrix}), norms and biases
 * as float32. Built once; each graph uploads its part on its first execution.
 */
record DeviceWeights(DeviceMatrix embed, Layer[] layers, FloatArray outGamma, FloatArray outBeta, DeviceMatrix lmHead) {

    record Layer(FloatArray attnGamma, FloatArray attnBeta, DeviceMatrix q, DeviceMatrix k, DeviceMatrix v, DeviceMatrix o,
                 FloatArray qBias, FloatArray kBias, FloatArray vBias, FloatArray oBias,
                 FloatArray ffnGamma, FloatArray ffnBeta, DeviceMatrix up, DeviceMatrix down,
                 FloatArray upBias, FloatArray downBias) {}

    /**
     * Copies the weights out of the mapped file, layers in parallel (on the common fork-join pool) next to the
     * embedding and lm_head: one thread read an 8B-shaped BF16 file's 16.5 GB at 1-1.7 GB/s, mostly page faults.
     */
    static DeviceWeights upload(Weights w) {
        CompletableFuture<DeviceMatrix> embed = CompletableFuture.supplyAsync(() -> DeviceMatrix.of(w.embed()));
        CompletableFuture<DeviceMatrix> lmHead = CompletableFuture.supplyAsync(() -> DeviceMatrix.of(w.lmHead()));
        Layer[] layers = Arrays.stream(w.layers()).parallel().map(DeviceWeights::layer).toArray(Layer[]::new);
        try {
            return new DeviceWeights(embed.join(), layers, floats(w.outNorm().gamma()), floats(w.outNorm().beta()), lmHead.join());
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
    }

    private static Layer layer(Weights.Layer l) {
        return new Layer(floats(l.attnNorm().gamma()), floats(l.attnNorm().beta()),
                DeviceMatrix.of(l.q()), DeviceMatrix.of(l.k()), DeviceMatrix.of(l.v()), DeviceMatrix.of(l.o()),
                floats(l.qBias()), floats(l.kBias()), floats(l.vBias()), floats(l.oBias()),
                floats(l.ffnNorm().gamma()), floats(l.ffnNorm().beta()), DeviceMatrix.of(l.up()), DeviceMatrix.of(l.down()),
                floats(l.upBias()), floats(l.downBias()));
    }

    /** Checks every matrix's dtype and size before anything is copied. */
    static void checkSupported(Weights w) {
        DeviceMatrix.checkSupported(w.embed());
        DeviceMatrix.checkSupported(w.lmHead());
        for (Weights.Layer l : w.layers()) {
            for (Tensor t : l.matrices()) DeviceMatrix.checkSupported(t);
        }
    }

    /** Bytes the weights take on the device (matrices in their dtype, vectors as float32). */
    static long bytes(Weights w) {
        long b = w.embed().data().byteSize() + w.lmHead().data().byteSize() + 8L * w.outNorm().gamma().length;
        for (Weights.Layer l : w.layers()) {
            for (Tensor t : l.matrices()) b += t.data().byteSize();
            b += 8L * (l.attnNorm().gamma().length + l.ffnNorm().gamma().length);
            for (float[] bias : new float[][]{l.qBias(), l.kBias(), l.vBias(), l.oBias(), l.upBias(), l.downBias()}) {
                if (bias != null) b += 4L * bias.length;
            }
        }
        return b;
    }

    private static FloatArray floats(float[] v) {
        return v == null ? null : FloatArray.fromArray(v);
    }
}
