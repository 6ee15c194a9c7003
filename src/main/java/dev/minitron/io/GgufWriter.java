package dev.minitron.io;

import dev.minitron.tensor.DType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Streams a GGUF version 3 file: header, metadata key/values, tensor infos, then the tensor data.
 *
 * <p>Layout (all little-endian): {@code "GGUF"}, u32 version 3, u64 tensor count, u64 kv count; each kv as
 * (string key, u32 value type, value); each tensor info as (string name, u32 n_dims, u64 ne[n_dims] innermost
 * first, u32 ggml type, u64 offset relative to the data section); zero padding up to a multiple of
 * {@value #ALIGNMENT}; the data section, each tensor starting at an aligned offset and followed by zero padding.
 * Strings are a u64 byte length plus UTF-8 bytes, arrays a u32 element type, u64 count and the elements.
 *
 * <p>Metadata and tensor infos are collected first (they are small: even a 256000-token vocabulary is a few MB),
 * then {@link #write} emits the header and pulls each tensor's bytes from a {@link TensorData} callback in
 * chunks, so no tensor has to be held in memory. Shapes are given in PyTorch order ({@code [out, in]}) and
 * reversed into ggml's {@code ne}. The file is written through {@link AtomicOutput}.
 */
public final class GgufWriter {
    public static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    public static final int VERSION = 3;
    public static final int ALIGNMENT = 32;

    // GGUF metadata value types (the writer emits UINT32, UINT64, INT32, FLOAT32, BOOL, STRING and ARRAY)
    static final int UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
            STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12;

    /** Supplies a tensor's bytes: writes exactly {@link #byteSize} bytes to {@code out}, in any chunking. */
    @FunctionalInterface
    public interface TensorData {
        void write(String name, WritableByteChannel out) throws IOException;
    }

    /** A declared tensor; {@code shape} in PyTorch order, {@code offset} relative to the data section. */
    public record TensorInfo(String name, DType type, long[] shape, long offset) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public long byteSize() { return type.bytesFor(numel()); }

        @Override public long[] shape() { return shape.clone(); }

        @Override public String toString() { return name + " " + type + " " + Arrays.toString(shape) + " @" + offset; }
    }

    private final Le kv = new Le();
    private int kvCount;
    private final Set<String> keys = new HashSet<>();
    private final Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    private long dataSize;

    // ---- metadata ------------------------------------------------------------------------------------------

    public GgufWriter putString(String key, String value) {
        key(key, STRING);
        kv.str(value);
        return this;
    }

    /** An unsigned 32-bit value (llama.cpp's type for counts, lengths, token ids and file_type). */
    public GgufWriter putU32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) throw new IllegalArgumentException(key + ": " + value + " does not fit in UINT32");
        key(key, UINT32);
        kv.i32((int) value);
        return this;
    }

    public GgufWriter putU64(String key, long value) {
        if (value < 0) throw new IllegalArgumentException(key + ": " + value + " is negative");
        key(key, UINT64);
        kv.i64(value);
        return this;
    }

    public GgufWriter putI32(String key, int value) {
        key(key, INT32);
        kv.i32(value);
        return this;
    }

    public GgufWriter putF32(String key, float value) {
        key(key, FLOAT32);
        kv.f32(value);
        return this;
    }

    public GgufWriter putBool(String key, boolean value) {
        key(key, BOOL);
        kv.write(value ? 1 : 0);
        return this;
    }

    public GgufWriter putStrings(String key, List<String> values) {
        key(key, ARRAY);
        kv.i32(STRING);
        kv.i64(values.size());
        for (String s : values) kv.str(s);
        return this;
    }

    public GgufWriter putF32s(String key, float[] values) {
        key(key, ARRAY);
        kv.i32(FLOAT32);
        kv.i64(values.length);
        for (float f : values) kv.f32(f);
        return this;
    }

    public GgufWriter putI32s(String key, int[] values) {
        key(key, ARRAY);
        kv.i32(INT32);
        kv.i64(values.length);
        for (int v : values) kv.i32(v);
        return this;
    }

    private void key(String key, int type) {
        if (!keys.add(key)) throw new IllegalArgumentException("duplicate GGUF key " + key);
        kv.str(key);
        kv.i32(type);
        kvCount++;
    }

    // ---- tensors -------------------------------------------------------------------------------------------

    /** Declares the next tensor; {@code shape} in PyTorch order (outermost first). Returns its info. */
    public TensorInfo addTensor(String name, DType type, long... shape) {
        if (type.ggmlId() < 0) throw new IllegalArgumentException(name + ": GGUF has no type " + type);
        if (tensors.containsKey(name)) throw new IllegalArgumentException("duplicate tensor " + name);
        if (shape.length == 0 || shape.length > 4) throw new IllegalArgumentException(name + ": GGUF tensors have 1 to 4 dims");
        if (shape[shape.length - 1] % type.blockSize() != 0) {
            throw new IllegalArgumentException(name + ": innermost dim " + shape[shape.length - 1] + " is not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        TensorInfo t = new TensorInfo(name, type, shape.clone(), dataSize);
        tensors.put(name, t);
        dataSize = align(dataSize + t.byteSize());
        return t;
    }

    public List<TensorInfo> tensors() { return List.copyOf(tensors.values()); }

    /** Size of the data section (tensor bytes plus padding). */
    public long dataSize() { return dataSize; }

    /** Size of header, metadata and tensor infos, padded: the file offset of the data section. */
    public long headerSize() { return header().length; }

    /** The file size {@link #write} produces. */
    public long fileSize() { return headerSize() + dataSize; }

    // ---- output --------------------------------------------------------------------------------------------

    /** Writes the file atomically; tensor bytes come from {@code data} in declaration order. */
    public void write(Path file, TensorData data) {
        byte[] header = header();
        try (AtomicOutput out = AtomicOutput.file(file)) {
            try (FileChannel ch = FileChannel.open(out.path(), StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                SafeTensorsWriter.writeFully(ch, ByteBuffer.wrap(header));
                ByteBuffer zeros = ByteBuffer.allocate(ALIGNMENT);
                for (TensorInfo t : tensors.values()) {
                    SafeTensorsWriter.CountingChannel counted = new SafeTensorsWriter.CountingChannel(ch);
                    data.write(t.name(), counted);
                    if (counted.count != t.byteSize()) {
                        throw new IllegalStateException(t.name() + ": wrote " + counted.count + " bytes, expected " + t.byteSize());
                    }
                    int pad = (int) (align(t.byteSize()) - t.byteSize());
                    SafeTensorsWriter.writeFully(ch, zeros.clear().limit(pad));
                }
            } catch (IOException ex) {
                throw new ModelException(file + ": cannot write (" + ex.getMessage() + ")", ex);
            }
            out.commit();
        }
    }

    private byte[] header() {
        Le h = new Le();
        h.i32(MAGIC);
        h.i32(VERSION);
        h.i64(tensors.size());
        h.i64(kvCount);
        h.write(kv.buf(), 0, kv.size());
        for (TensorInfo t : tensors.values()) {
            h.str(t.name());
            h.i32(t.shape.length);
            for (int i = t.shape.length - 1; i >= 0; i--) h.i64(t.shape[i]);
            h.i32(t.type().ggmlId());
            h.i64(t.offset());
        }
        while (h.size() % ALIGNMENT != 0) h.write(0);
        return h.toByteArray();
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** A little-endian byte builder. */
    private static final class Le extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        byte[] buf() { return buf; }

        void i32(int v) { write(scratch.putInt(0, v).array(), 0, 4); }

        void i64(long v) { write(scratch.putLong(0, v).array(), 0, 8); }

        void f32(float v) { i32(Float.floatToRawIntBits(v)); }

        void str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            write(b, 0, b.length);
        }
    }
}
