package dev.minitron.gpu;

import dev.minitron.model.Weights;
import dev.minitron.tensor.Tensor;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The model's weights as TornadoVM arrays, each matrix in its own dtype ({@link DeviceMatrix}), norms and biases
 * as float32. Built once; each graph uploads its part on its first execution.
 */
record DeviceWeights(DeviceMatrix embed, Layer[] layers, FloatArray outGamma, FloatArray outBeta, DeviceMatrix lmHead) {

    record Layer(FloatArray attnGamma, FloatArray attnBeta, DeviceMatrix q, DeviceMatrix k, DeviceMatrix v, DeviceMatrix o,
                 FloatArray qBias, FloatArray kBias, FloatArray vBias, FloatArray oBias,
                 FloatArray ffnGamma, FloatArray ffnBeta, DeviceMatrix up, DeviceMatrix down,
                 FloatArray upBias, FloatArray downBias) {}

    static DeviceWeights upload(Weights w) {
        Layer[] layers = new Layer[w.layers().length];
        for (int i = 0; i < layers.length; i++) {
            Weights.Layer l = w.layers()[i];
            layers[i] = new Layer(floats(l.attnNorm().gamma()), floats(l.attnNorm().beta()),
                    DeviceMatrix.of(l.q()), DeviceMatrix.of(l.k()), DeviceMatrix.of(l.v()), DeviceMatrix.of(l.o()),
                    floats(l.qBias()), floats(l.kBias()), floats(l.vBias()), floats(l.oBias()),
                    floats(l.ffnNorm().gamma()), floats(l.ffnNorm().beta()), DeviceMatrix.of(l.up()), DeviceMatrix.of(l.down()),
                    floats(l.upBias()), floats(l.downBias()));
        }
        return new DeviceWeights(DeviceMatrix.of(w.embed()), layers, floats(w.outNorm().gamma()), floats(w.outNorm().beta()),
                DeviceMatrix.of(w.lmHead()));
    }

    /** Checks every matrix's dtype and size before anything is copied. */
    static void checkSupported(Weights w) {
        DeviceMatrix.checkSupported(w.embed());
        DeviceMatrix.checkSupported(w.lmHead());
        for (Weights.Layer l : w.layers()) {
            for (Tensor t : new Tensor[]{l.q(), l.k(), l.v(), l.o(), l.up(), l.down()}) DeviceMatrix.checkSupported(t);
        }
    }

    /** Bytes the weights take on the device (matrices in their dtype, vectors as float32). */
    static long bytes(Weights w) {
        long b = w.embed().data().byteSize() + w.lmHead().data().byteSize() + 8L * w.outNorm().gamma().length;
        for (Weights.Layer l : w.layers()) {
            for (Tensor t : new Tensor[]{l.q(), l.k(), l.v(), l.o(), l.up(), l.down()}) b += t.data().byteSize();
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
