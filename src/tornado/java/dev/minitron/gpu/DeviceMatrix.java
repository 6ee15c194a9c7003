package dev.minitron.gpu;

import dev.minitron.gpu.kernels.Bits16;
import dev.minitron.gpu.kernels.Embedding;
import dev.minitron.gpu.kernels.Groups;
import dev.minitron.gpu.kernels.MatVec;
import dev.minitron.io.ModelException;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;
import uk.ac.manchester.tornado.api.types.arrays.TornadoNativeArray;

/**
 * A weight matrix in its file's own encoding, copied off-heap for upload: float32 as a {@link FloatArray}, bf16
 * and f16 as their raw words in a {@link ShortArray}, Q8_0, Q4_K and Q6_K as their raw blocks in a
 * {@link ByteArray}.
 * Nothing is expanded to float32; the kernels decode on the fly. It knows which kernel reads it, so the graph
 * code can say "project with this matrix" whatever the dtype.
 */
final class DeviceMatrix {
    /** The dtypes the kernels read. */
    static final java.util.Set<DType> SUPPORTED = java.util.EnumSet.of(DType.F32, DType.BF16, DType.F16, DType.Q8_0, DType.Q4_K, DType.Q6_K);

    /** The exponent tables {@link Bits16} decodes with, uploaded once per graph that needs them. */
    record Scales(FloatArray bf16, FloatArray f16) {
        static Scales create() {
            return new Scales(Bits16.bf16Scales(), Bits16.f16Scales());
        }
    }

    final String name;
    final DType dtype;
    final int rows, cols;
    final TornadoNativeArray data;

    private DeviceMatrix(String name, DType dtype, int rows, int cols, TornadoNativeArray data) {
        this.name = name;
        this.dtype = dtype;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
    }

    /** Copies {@code t} (a view of the mapped file) into an off-heap TornadoVM array, bytes unchanged. */
    static DeviceMatrix of(Tensor t) {
        checkSupported(t);
        TornadoNativeArray a = switch (t.dtype()) {
            case F32 -> FloatArray.fromSegment(t.data());
            case BF16, F16 -> ShortArray.fromSegment(t.data());
            case Q8_0, Q4_K, Q6_K -> ByteArray.fromSegment(t.data());
            default -> throw new IllegalStateException();
        };
        return new DeviceMatrix(t.name(), t.dtype(), t.rows(), t.cols(), a);
    }

    static void checkSupported(Tensor t) {
        if (!SUPPORTED.contains(t.dtype())) {
            throw new ModelException("--backend tornado: tensor '" + t.name() + "' is " + t.dtype()
                    + "; the TornadoVM kernels read F32, BF16, F16, Q8_0, Q4_K and Q6_K (convert the model, e.g. minitron convert --type q8_0)");
        }
        if (t.data().byteSize() > Integer.MAX_VALUE - 64) {
            throw new ModelException("--backend tornado: tensor '" + t.name() + "' has " + t.data().byteSize()
                    + " bytes; one TornadoVM array holds at most 2^31 elements (use a 16-bit or Q8_0 file)");
        }
    }

    /** Bytes on the device. */
    long bytes() {
        return data.getNumBytesOfSegment();
    }

    /** The scale table the decoder of this dtype needs (float32 needs none: returns null). */
    FloatArray scaleTable(Scales s) {
        return switch (dtype) {
            case BF16 -> s.bf16();
            case F16, Q8_0, Q4_K, Q6_K -> s.f16();
            default -> null;
        };
    }

    /**
     * Adds task {@code id}: {@code y = W x}, {@code y += W x} or {@code y = relu(W x)^2} ({@code mode}, see
     * {@code MatVec.store}), for the number of token rows in {@code batch[countSlot]}.
     */
    TaskGraph matVec(TaskGraph g, String id, Scales s, FloatArray x, FloatArray y, IntArray batch, int countSlot,
                     int mode) {
        return switch (dtype) {
            case F32 -> g.task(id, MatVec::matVecF32, (FloatArray) data, x, y, batch, rows, cols, countSlot, mode);
            case BF16 -> g.task(id, MatVec::matVecBF16, (ShortArray) data, s.bf16(), x, y, batch, rows, cols, countSlot, mode);
            case F16 -> g.task(id, MatVec::matVecF16, (ShortArray) data, s.f16(), x, y, batch, rows, cols, countSlot, mode);
            case Q8_0 -> g.task(id, MatVec::matVecQ8_0, (ByteArray) data, s.f16(), x, y, batch, rows, cols, countSlot, mode);
            case Q4_K -> g.task(id, MatVec::matVecQ4_K, (ByteArray) data, s.f16(), x, y, batch, rows, cols, countSlot, mode);
            case Q6_K -> g.task(id, MatVec::matVecQ6_K, (ByteArray) data, s.f16(), x, y, batch, rows, cols, countSlot, mode);
            default -> throw new IllegalStateException();
        };
    }

    /**
     * As {@link #matVec}, with the work-group kernel of {@link Groups} (every device dtype has one): the task's grid
     * is {@code rows * Groups.GROUP} work-items in groups of {@code Groups.GROUP}.
     */
    TaskGraph matVecGroups(TaskGraph g, String id, KernelContext kc, Scales s, FloatArray x, FloatArray y, IntArray batch,
                           int countSlot, int mode) {
        return switch (dtype) {
            case F32 -> g.task(id, Groups::matVecF32, kc, (FloatArray) data, x, y, batch, rows, cols, countSlot, mode);
            case BF16 -> g.task(id, Groups::matVecBF16, kc, (ShortArray) data, s.bf16(), x, y, batch, rows, cols, countSlot, mode);
            case F16 -> g.task(id, Groups::matVecF16, kc, (ShortArray) data, s.f16(), x, y, batch, rows, cols, countSlot, mode);
            case Q8_0 -> g.task(id, Groups::matVecQ8_0, kc, (ByteArray) data, s.f16(), x, y, batch, rows, cols, countSlot, mode);
            case Q4_K, Q6_K -> g.task(id, Groups::matVecKQuant, kc, (ByteArray) data, s.f16(), x, y, batch, rows, cols, countSlot, mode,
                    dtype == DType.Q4_K ? 144 : 210);
            default -> throw new IllegalStateException("no work-group kernel for " + dtype);
        };
    }

    /** Adds task {@code id}: the rows of this (embedding) matrix named by the batch's token ids into x. */
    TaskGraph embed(TaskGraph g, String id, Scales s, IntArray batch, FloatArray x) {
        return switch (dtype) {
            case F32 -> g.task(id, Embedding::embedF32, (FloatArray) data, batch, x, cols);
            case BF16 -> g.task(id, Embedding::embedBF16, (ShortArray) data, s.bf16(), batch, x, cols);
            case F16 -> g.task(id, Embedding::embedF16, (ShortArray) data, s.f16(), batch, x, cols);
            case Q8_0 -> g.task(id, Embedding::embedQ8_0, (ByteArray) data, s.f16(), batch, x, cols);
            case Q4_K -> g.task(id, Embedding::embedQ4_K, (ByteArray) data, s.f16(), batch, x, cols);
            case Q6_K -> g.task(id, Embedding::embedQ6_K, (ByteArray) data, s.f16(), batch, x, cols);
            default -> throw new IllegalStateException();
        };
    }
}
