package dev.minitron.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Quantize;
import dev.minitron.tools.MiniSafetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsWriterTest {
    @TempDir Path dir;

    private static float[] values(String name, long n) {
        float[] v = new float[(int) n];
        for (int i = 0; i < n; i++) v[i] = (name.hashCode() % 97) + i * 0.25f;
        return v;
    }

    /** Writes each tensor in chunks of 3 elements, to exercise chunked streaming. */
    private static SafeTensorsWriter.TensorData source(List<SafeTensorsWriter.Entry> entries) {
        Map<String, SafeTensorsWriter.Entry> byName = new HashMap<>();
        for (var e : entries) byName.put(e.name(), e);
        return (name, out) -> {
            var e = byName.get(name);
            byte[] all = Quantize.encode(e.dtype(), values(name, e.numel()));
            int step = 3 * (e.dtype() == DType.F32 ? 4 : 2);
            for (int p = 0; p < all.length; p += step) out.write(ByteBuffer.wrap(all, p, Math.min(step, all.length - p)));
        };
    }

    private static List<SafeTensorsWriter.Entry> entries() {
        return List.of(
                new SafeTensorsWriter.Entry("a.weight", DType.F32, new long[] {3, 5}),
                new SafeTensorsWriter.Entry("b.bias", DType.BF16, new long[] {7}),
                new SafeTensorsWriter.Entry("c.weight", DType.F16, new long[] {2, 3, 3}),
                new SafeTensorsWriter.Entry("d.weight", DType.F32, new long[] {11, 4}),
                new SafeTensorsWriter.Entry("e.weight", DType.BF16, new long[] {5, 5}));
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void singleFileRoundTrip() throws IOException {
        Path f = dir.resolve("m.safetensors");
        var entries = entries();
        SafeTensorsWriter.write(f, entries, source(entries));
        MiniSafetensors st = new MiniSafetensors(f);
        assertEquals(0, (8 + st.headerLen) % 8, "data must start 8-byte aligned");
        assertEquals("pt", st.metadata.get("format").asText());
        long off = 0;
        for (var e : entries) {
            var t = st.tensors.get(e.name());
            assertNotNull(t, e.name());
            assertEquals(e.dtype().name(), t.dtype());
            assertArrayEquals(e.shape(), t.shape());
            assertEquals(off, t.begin());
            off += e.byteSize();
            assertEquals(off, t.end());
            float[] expect = values(e.name(), e.numel());
            float[] got = st.floats(e.name());
            for (int i = 0; i < expect.length; i++) {
                float want = switch (e.dtype()) {
                    case BF16 -> Float.intBitsToFloat(dev.minitron.tensor.Dequant.toBf16(expect[i]) << 16);
                    case F16 -> Float.float16ToFloat(Float.floatToFloat16(expect[i]));
                    default -> expect[i];
                };
                assertEquals(want, got[i], e.name() + "[" + i + "]");
            }
        }
        assertEquals(st.tensors.size(), entries.size());
        assertEquals(8 + st.headerLen + off, st.fileSize);
        assertTrue(st.rawHeader.endsWith("}") || st.rawHeader.stripTrailing().endsWith("}"));
        assertEquals(List.of(f), listing(), "no temporary left");
    }

    @Test
    void shardsWithIndex() throws IOException {
        var entries = entries();
        // sizes: 60, 14, 36, 176, 50 bytes; limit 100 -> [60,14] [36] [176] [50]
        List<Path> files = SafeTensorsWriter.writeSharded(dir, entries, 100, source(entries));
        assertEquals(5, files.size());
        assertEquals(dir.resolve(SafeTensorsWriter.INDEX), files.get(4));
        JsonNode index = new ObjectMapper().readTree(files.get(4).toFile());
        long total = entries.stream().mapToLong(SafeTensorsWriter.Entry::byteSize).sum();
        assertEquals(total, index.get("metadata").get("total_size").asLong());
        JsonNode wm = index.get("weight_map");
        assertEquals(entries.size(), wm.size());
        List<String> seen = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            String name = String.format("model-%05d-of-00004.safetensors", i);
            assertTrue(Files.exists(dir.resolve(name)), name);
            MiniSafetensors st = new MiniSafetensors(dir.resolve(name));
            long size = 0;
            for (var e : st.tensors.entrySet()) {
                assertEquals(name, wm.get(e.getKey()).asText(), e.getKey());
                seen.add(e.getKey());
                size += e.getValue().end() - e.getValue().begin();
            }
            assertTrue(size <= 100 || st.tensors.size() == 1, "shard " + i + " holds " + size);
            assertEquals(8 + st.headerLen + size, st.fileSize);
        }
        assertEquals(entries.stream().map(SafeTensorsWriter.Entry::name).toList(), seen);
        assertEquals(List.of("a.weight", "b.bias"), new ArrayList<>(new MiniSafetensors(dir.resolve("model-00001-of-00004.safetensors")).tensors.keySet()));
    }

    @Test
    void everythingFitsInOneFileWithoutIndex() throws IOException {
        var entries = entries();
        List<Path> files = SafeTensorsWriter.writeSharded(dir, entries, 1 << 20, source(entries));
        assertEquals(List.of(dir.resolve("model.safetensors")), files);
        assertEquals(files, listing());
    }

    @Test
    void failureMidwayLeavesNothing() throws IOException {
        var entries = entries();
        var good = source(entries);
        SafeTensorsWriter.TensorData failing = (name, out) -> {
            if (name.equals("c.weight")) {
                out.write(ByteBuffer.allocate(4));
                throw new IOException("disk on fire");
            }
            good.write(name, out);
        };
        Path f = dir.resolve("m.safetensors");
        ModelException e = assertThrows(ModelException.class, () -> SafeTensorsWriter.write(f, entries, failing));
        assertTrue(e.getMessage().contains("disk on fire"), e.getMessage());
        assertEquals(List.of(), listing());
        assertThrows(ModelException.class, () -> SafeTensorsWriter.writeSharded(dir, entries, 100, failing));
        assertEquals(List.of(), listing(), "shard 1 was complete but must go too");
        SafeTensorsWriter.TensorData throwsRuntime = (name, out) -> {
            if (name.equals("e.weight")) throw new IllegalStateException("bug");
            good.write(name, out);
        };
        assertThrows(IllegalStateException.class, () -> SafeTensorsWriter.writeSharded(dir, entries, 100, throwsRuntime));
        assertEquals(List.of(), listing());
    }

    @Test
    void shortTensorIsAnError() throws IOException {
        var entries = entries();
        SafeTensorsWriter.TensorData shortOne = (name, out) -> out.write(ByteBuffer.allocate(2));
        Path f = dir.resolve("m.safetensors");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SafeTensorsWriter.write(f, entries, shortOne));
        assertTrue(e.getMessage().contains("a.weight"), e.getMessage());
        assertEquals(List.of(), listing());
    }

    @Test
    void rejectsQuantizedTypesAndDuplicates() {
        assertThrows(IllegalArgumentException.class, () -> new SafeTensorsWriter.Entry("q", DType.Q8_0, new long[] {32}));
        var dup = List.of(new SafeTensorsWriter.Entry("x", DType.F32, new long[] {1}),
                new SafeTensorsWriter.Entry("x", DType.F32, new long[] {1}));
        assertThrows(IllegalArgumentException.class, () -> SafeTensorsWriter.write(dir.resolve("d.safetensors"), dup,
                (name, out) -> out.write(ByteBuffer.allocate(4))));
    }

    @Test
    void replacesAnExistingFileAtomically() throws IOException {
        Path f = dir.resolve("m.safetensors");
        Files.writeString(f, "old");
        var entries = entries();
        SafeTensorsWriter.write(f, entries, source(entries));
        assertEquals(5, new MiniSafetensors(f).tensors.size());
        assertEquals(List.of(f), listing());
    }

}
