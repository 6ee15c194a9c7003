package dev.minitron.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.minitron.tensor.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Streams tensors into the safetensors format, optionally sharded the way Hugging Face {@code save_pretrained}
 * shards checkpoints.
 *
 * <p>File layout: an 8-byte little-endian header length {@code N}, {@code N} bytes of JSON
 * ({@code {"__metadata__":{"format":"pt"}, name: {"dtype","shape","data_offsets":[begin,end]}, ...}}, padded
 * with spaces so that the data starts 8-byte aligned), then the tensors' bytes back to back in the listed order
 * (offsets relative to the data start). Since every tensor is declared up front, the header is written first
 * and each tensor's bytes are then pulled from a {@link TensorData} callback in chunks: nothing needs the whole
 * checkpoint, nor a whole tensor, in memory. The callback must write exactly the tensor's byte size.
 *
 * <p>Every file is written through {@link AtomicOutput}.
 */
public final class SafeTensorsWriter {
    private SafeTensorsWriter() {}

    /** Index file name of a sharded checkpoint. */
    public static final String INDEX = "model.safetensors.index.json";
    /** File name of an unsharded checkpoint. */
    public static final String SINGLE = "model.safetensors";

    /** A tensor to write: name, element type (F32, F16 or BF16) and shape in PyTorch order. */
    public record Entry(String name, DType dtype, long[] shape) {
        public Entry {
            if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
                throw new IllegalArgumentException(name + ": safetensors holds F32, F16 or BF16, not " + dtype);
            }
            for (long d : shape) if (d < 0) throw new IllegalArgumentException(name + ": negative dimension");
            shape = shape.clone();
        }

        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public long byteSize() { return dtype.bytesFor(numel()); }

        @Override public long[] shape() { return shape.clone(); }

        @Override public String toString() { return name + " " + dtype + " " + Arrays.toString(shape); }
    }

    /** Supplies a tensor's bytes: writes exactly {@code entry.byteSize()} bytes to {@code out}, in any chunking. */
    @FunctionalInterface
    public interface TensorData {
        void write(String name, WritableByteChannel out) throws IOException;
    }

    /** Writes one safetensors file with {@code "format":"pt"} metadata. */
    public static void write(Path file, List<Entry> entries, TensorData data) {
        write(file, entries, Map.of("format", "pt"), data);
    }

    /** Writes one safetensors file; {@code metadata} goes to {@code __metadata__} (string values only). */
    public static void write(Path file, List<Entry> entries, Map<String, String> metadata, TensorData data) {
        checkNames(entries);
        byte[] header = header(entries, metadata);
        try (AtomicOutput out = AtomicOutput.file(file)) {
            try (FileChannel ch = FileChannel.open(out.path(), StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Entry e : entries) {
                    CountingChannel counted = new CountingChannel(ch);
                    data.write(e.name(), counted);
                    if (counted.count != e.byteSize()) {
                        throw new IllegalStateException(e.name() + ": wrote " + counted.count + " bytes, expected " + e.byteSize());
                    }
                }
            } catch (IOException ex) {
                throw new ModelException(file + ": cannot write (" + ex.getMessage() + ")", ex);
            }
            out.commit();
        }
    }

    /**
     * Writes a checkpoint into the existing folder {@code dir}: one {@value #SINGLE} when everything fits in
     * {@code maxShardBytes} of tensor data, otherwise {@code model-0000i-of-0000N.safetensors} shards (tensors
     * in the given order, a new shard started whenever the next tensor would exceed the limit; a tensor larger
     * than the limit gets a shard of its own) plus {@value #INDEX}. Returns the files written, index last.
     */
    public static List<Path> writeSharded(Path dir, List<Entry> entries, long maxShardBytes, TensorData data) {
        checkNames(entries);
        List<List<Entry>> shards = plan(entries, maxShardBytes);
        List<Path> written = new ArrayList<>();
        if (shards.size() <= 1) {
            Path p = dir.resolve(SINGLE);
            write(p, entries, data);
            written.add(p);
            return written;
        }
        Map<String, String> weightMap = new TreeMap<>();
        long total = 0;
        try {
            for (int i = 0; i < shards.size(); i++) {
                String name = shardName(i + 1, shards.size());
                Path p = dir.resolve(name);
                write(p, shards.get(i), data);
                written.add(p);
                for (Entry e : shards.get(i)) {
                    weightMap.put(e.name(), name);
                    total += e.byteSize();
                }
            }
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode index = json.createObjectNode();
            index.putObject("metadata").put("total_size", total);
            ObjectNode wm = index.putObject("weight_map");
            weightMap.forEach(wm::put);
            Path indexFile = dir.resolve(INDEX);
            try (AtomicOutput out = AtomicOutput.file(indexFile)) {
                Files.writeString(out.path(), json.writeValueAsString(index) + "\n");
                out.commit();
            } catch (IOException ex) {
                throw new ModelException(indexFile + ": cannot write (" + ex.getMessage() + ")", ex);
            }
            written.add(indexFile);
        } catch (RuntimeException | Error e) {
            for (Path p : written) AtomicOutput.deleteQuietly(p); // no shards without their index
            throw e;
        }
        return written;
    }

    /** {@code model-00001-of-00004.safetensors}. */
    public static String shardName(int i, int n) {
        return String.format("model-%05d-of-%05d.safetensors", i, n);
    }

    /** Groups tensors into shards of at most {@code maxShardBytes} of data (oversized tensors alone). */
    public static List<List<Entry>> plan(List<Entry> entries, long maxShardBytes) {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("max shard size must be positive");
        List<List<Entry>> shards = new ArrayList<>();
        List<Entry> cur = new ArrayList<>();
        long size = 0;
        for (Entry e : entries) {
            if (!cur.isEmpty() && size + e.byteSize() > maxShardBytes) {
                shards.add(cur);
                cur = new ArrayList<>();
                size = 0;
            }
            cur.add(e);
            size += e.byteSize();
        }
        if (!cur.isEmpty()) shards.add(cur);
        return shards;
    }

    /** The JSON header, space-padded to a multiple of 8 bytes. */
    static byte[] header(List<Entry> entries, Map<String, String> metadata) {
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> root = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) root.put("__metadata__", new TreeMap<>(metadata));
        long off = 0;
        for (Entry e : entries) {
            ObjectNode t = json.createObjectNode();
            t.put("dtype", e.dtype().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape) shape.add(d);
            t.putArray("data_offsets").add(off).add(off + e.byteSize());
            off += e.byteSize();
            root.put(e.name(), t);
        }
        byte[] raw;
        try {
            raw = json.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int padded = (raw.length + 7) & ~7;
        byte[] out = Arrays.copyOf(raw, padded);
        Arrays.fill(out, raw.length, padded, (byte) ' ');
        return out;
    }

    private static void checkNames(List<Entry> entries) {
        Set<String> seen = new HashSet<>();
        for (Entry e : entries) {
            if (e.name().equals("__metadata__") || !seen.add(e.name())) {
                throw new IllegalArgumentException("duplicate or reserved tensor name: " + e.name());
            }
            if (e.name().getBytes(StandardCharsets.UTF_8).length == 0) throw new IllegalArgumentException("empty tensor name");
        }
    }

    static void writeFully(WritableByteChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Passes writes through and counts the bytes; the callback cannot close the file. */
    static final class CountingChannel implements WritableByteChannel {
        private final WritableByteChannel ch;
        long count;

        CountingChannel(WritableByteChannel ch) { this.ch = ch; }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = 0;
            while (src.hasRemaining()) n += ch.write(src);
            count += n;
            return n;
        }

        @Override public boolean isOpen() { return ch.isOpen(); }

        @Override public void close() {}
    }
}
