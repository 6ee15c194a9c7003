package dev.minitron.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TorchCheckpointTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures");
    static final Path BIN_DIR = FIXTURES.resolve("tiny-a-bin");
    static final Path SAFETENSORS = FIXTURES.resolve("tiny-a/hf-bf16/model.safetensors");

    @TempDir Path tmp;

    // ---- the fixture: two shards written by torch 2.x ------------------------------------------------------------

    @Test
    void fixtureShardsMatchSafetensorsBitForBit() throws IOException {
        Map<String, Tensor> shard1 = TorchCheckpoint.read(BIN_DIR.resolve("pytorch_model-00001-of-00002.bin"));
        Map<String, Tensor> shard2 = TorchCheckpoint.read(BIN_DIR.resolve("pytorch_model-00002-of-00002.bin"));
        assertEquals(32, shard1.size());
        assertEquals(2, shard2.size());
        assertEquals(Set.of("model.norm.bias", "lm_head.weight"), shard2.keySet());

        Map<String, Tensor> all = new LinkedHashMap<>(shard1);
        all.putAll(shard2);
        assertEquals(34, all.size());

        Map<String, Tensor> reference = readSafetensors(SAFETENSORS);
        assertEquals(34, reference.size());
        assertEquals(new TreeSet<>(reference.keySet()), new TreeSet<>(all.keySet()));
        for (Map.Entry<String, Tensor> e : reference.entrySet()) {
            Tensor want = e.getValue();
            Tensor got = all.get(e.getKey());
            assertEquals(DType.BF16, got.dtype(), e.getKey());
            assertEquals(want.dtype(), got.dtype(), e.getKey());
            assertArrayEquals(want.shape(), got.shape(), e.getKey());
            assertEquals(want.data().byteSize(), got.data().byteSize(), e.getKey());
            assertEquals(-1, want.data().mismatch(got.data()), e.getKey() + ": bytes differ");
            assertTrue(got.data().isMapped(), e.getKey() + " should be a view into the mapped file");
            assertTrue(got.data().isReadOnly(), e.getKey());
        }
        assertArrayEquals(new long[] {1000, 64}, all.get("model.embed_tokens.weight").shape());
        assertArrayEquals(new long[] {256, 64}, all.get("model.layers.2.mlp.up_proj.weight").shape());
    }

    /** Minimal safetensors reader for the comparison (the real one lives elsewhere): LE u64 length + JSON header. */
    static Map<String, Tensor> readSafetensors(Path file) throws IOException {
        MemorySegment seg = MappedFile.map(file);
        long headerLen = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        byte[] json = seg.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header = new ObjectMapper().readTree(json);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) continue;
            JsonNode t = e.getValue();
            DType dtype = DType.fromSafetensors(t.get("dtype").asText());
            assertNotNull(dtype, e.getKey());
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = t.get("shape").get(i).asLong();
            long begin = t.get("data_offsets").get(0).asLong();
            long end = t.get("data_offsets").get(1).asLong();
            out.put(e.getKey(), new Tensor(e.getKey(), dtype, shape, seg.asSlice(8 + headerLen + begin, end - begin)));
        }
        return out;
    }

    // ---- hand-built checkpoints ----------------------------------------------------------------------------------

    /**
     * What a raw {@code model.state_dict()} of a big model pickles to: OrderedDict top level with a _metadata
     * BUILD, several SETITEMS batches, memo indices > 255 (LONG_BINPUT / LONG_BINGET), numel >= 65536 (BININT),
     * a LONG1 offset, Half and Float storages, and two tensors sharing one storage at different offsets.
     */
    @Test
    void handBuiltOrderedDictWithSharedStorageAndLongOpcodes() throws IOException {
        int n = 70_000;
        ByteBuffer floats = le(4 * n);
        for (int i = 0; i < n; i++) floats.putFloat(i * 0.25f - 100f);
        ByteBuffer halves = le(2 * 12);
        for (int i = 0; i < 12; i++) halves.putShort(Float.floatToFloat16(i - 5.5f));

        List<Spec> specs = List.of(
                new Spec("first", "FloatStorage", "0", n, 0, new long[] {100, 600}, new long[] {600, 1}),
                new Spec("half", "HalfStorage", "1", 12, 0, new long[] {3, 4}, new long[] {4, 1}),
                new Spec("second", "FloatStorage", "0", n, 60_000, new long[] {2, 5000}, new long[] {5000, 1}),
                new Spec("tail", "HalfStorage", "1", 12, 9, new long[] {3}, new long[] {1}));
        Pkl p = stateDict(specs, new Opts(true, 2, 300, true, true));
        // the builder really used what the test claims
        for (int op : new int[] {0x4a, 0x6a, 0x72, 0x8a, 0x62, 0x52, 0x51}) {
            assertTrue(p.used.contains(op), "opcode " + Unpickler.opName(op) + " not used");
        }
        assertEquals(2, p.count(0x75), "SETITEMS batches");
        assertFalse(p.used.contains(0x71), "only LONG_BINPUT expected");

        Path f = tmp.resolve("raw_state_dict.bin");
        writeCheckpoint(f, "raw_state_dict", p.bytes(), Map.of("0", floats.array(), "1", halves.array()), false);
        Map<String, Tensor> m = TorchCheckpoint.read(f);

        assertEquals(List.of("first", "half", "second", "tail"), new ArrayList<>(m.keySet()));
        Tensor first = m.get("first");
        assertEquals(DType.F32, first.dtype());
        assertArrayEquals(new long[] {100, 600}, first.shape());
        float[] a = first.toFloats();
        for (int i = 0; i < a.length; i++) assertEquals(i * 0.25f - 100f, a[i], "first[" + i + "]");
        Tensor second = m.get("second");
        float[] b = second.toFloats();
        assertEquals(10_000, b.length);
        for (int i = 0; i < b.length; i++) assertEquals((60_000 + i) * 0.25f - 100f, b[i], "second[" + i + "]");
        assertTrue(second.data().isMapped());

        Tensor half = m.get("half");
        assertEquals(DType.F16, half.dtype());
        float[] h = half.toFloats();
        for (int i = 0; i < 12; i++) assertEquals(i - 5.5f, h[i]);
        float[] tail = m.get("tail").toFloats();
        assertArrayEquals(new float[] {3.5f, 4.5f, 5.5f}, tail);
    }

    @Test
    void nonContiguousViewIsGatheredRowMajor() throws IOException {
        // storage holds a 3x4 matrix row-major; "t" is its transpose (4x3, stride (1, 4)), "col" is column 2.
        ByteBuffer fl = le(4 * 12);
        for (int i = 0; i < 12; i++) fl.putFloat(i);
        List<Spec> specs = List.of(
                new Spec("m", "FloatStorage", "0", 12, 0, new long[] {3, 4}, new long[] {4, 1}),
                new Spec("t", "FloatStorage", "0", 12, 0, new long[] {4, 3}, new long[] {1, 4}),
                new Spec("col", "FloatStorage", "0", 12, 2, new long[] {3}, new long[] {4}),
                new Spec("unsqueezed", "FloatStorage", "0", 12, 4, new long[] {1, 4}, new long[] {99, 1}));
        Path f = tmp.resolve("views.bin");
        writeCheckpoint(f, "archive", stateDict(specs, Opts.PLAIN).bytes(), Map.of("0", fl.array()), false);
        Map<String, Tensor> m = TorchCheckpoint.read(f);
        assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, m.get("t").toFloats());
        assertArrayEquals(new long[] {4, 3}, m.get("t").shape());
        assertArrayEquals(new float[] {2, 6, 10}, m.get("col").toFloats());
        assertFalse(m.get("t").data().isMapped(), "a strided view is a copy");
        // a size-1 dimension's stride does not matter: still a view
        assertArrayEquals(new float[] {4, 5, 6, 7}, m.get("unsqueezed").toFloats());
        assertTrue(m.get("unsqueezed").data().isMapped());
        assertTrue(m.get("m").data().isMapped());
    }

    @Test
    void zip64ArchiveWithAlignedDataAndParameters() throws IOException {
        ByteBuffer bf = le(2 * 6);
        for (int i = 0; i < 6; i++) bf.putShort((short) (Float.floatToRawIntBits(i + 1f) >>> 16));
        List<Spec> specs = List.of(
                new Spec("w", "BFloat16Storage", "7", 6, 0, new long[] {2, 3}, new long[] {3, 1}, true),
                new Spec("s", "BFloat16Storage", "7", 6, 5, new long[] {}, new long[] {}));
        Path f = tmp.resolve("zip64.bin");
        writeCheckpoint(f, "zip64", stateDict(specs, Opts.PLAIN).bytes(), Map.of("7", bf.array()), true);
        Map<String, Tensor> m = TorchCheckpoint.read(f);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, m.get("w").toFloats());
        assertArrayEquals(new long[] {}, m.get("s").shape());
        assertArrayEquals(new float[] {6}, m.get("s").toFloats());
        assertEquals(0, m.get("w").data().address() % 64, "data of the hand-built zip is 64-byte aligned");
    }

    @Test
    void protocol4OpcodesAndEmptyTensor() throws IOException {
        // PROTO 4, FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, NEWTRUE, SETITEM, a cuda:0 location, numel 0
        Pkl p = new Pkl().proto(4).op(0x95).raw(le(8).putLong(0, 999).array())
                .op(0x7d).op(0x94)
                .shortStr("empty").op(0x94)
                .shortStr("torch._utils").shortStr("_rebuild_tensor_v2").op(0x93).op(0x94)
                .op(0x28)
                .op(0x28).shortStr("storage").shortStr("torch").shortStr("FloatStorage").op(0x93)
                .shortStr("0").shortStr("cuda:0").int1(0).op(0x74).op(0x51)
                .int1(0).int1(0).op(0x85).int1(1).op(0x85).op(0x88).op(0x7d)
                .op(0x74).op(0x52).op(0x94)
                .op(0x73)
                .op(0x2e);
        Path f = tmp.resolve("p4.bin");
        writeCheckpoint(f, "p4", p.bytes(), Map.of("0", new byte[0]), false);
        Map<String, Tensor> m = TorchCheckpoint.read(f);
        assertEquals(Set.of("empty"), m.keySet());
        assertEquals(0, m.get("empty").numel());
        assertArrayEquals(new long[] {0}, m.get("empty").shape());
    }

    // ---- test helpers: pickle builder, torch-like state dict pickles, zip writers ---------------------------------

    static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Pickle bytes, assembled opcode by opcode; remembers which opcodes it wrote. */
    static final class Pkl {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();
        final Set<Integer> used = new TreeSet<>();
        final Map<Integer, Integer> counts = new HashMap<>();

        Pkl op(int o) {
            b.write(o);
            used.add(o);
            counts.merge(o, 1, Integer::sum);
            return this;
        }

        int count(int o) { return counts.getOrDefault(o, 0); }

        Pkl raw(byte[] bytes) {
            b.writeBytes(bytes);
            return this;
        }

        Pkl proto(int v) { return op(0x80).raw(new byte[] {(byte) v}); }

        Pkl str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            return op(0x58).raw(le(4).putInt(0, u.length).array()).raw(u);
        }

        Pkl shortStr(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            return op(0x8c).raw(new byte[] {(byte) u.length}).raw(u);
        }

        Pkl global(String module, String name) {
            return op(0x63).raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        }

        Pkl int1(int v) { return op(0x4b).raw(new byte[] {(byte) v}); }

        Pkl int2(int v) { return op(0x4d).raw(le(2).putShort(0, (short) v).array()); }

        Pkl int4(int v) { return op(0x4a).raw(le(4).putInt(0, v).array()); }

        Pkl long1(long v) {
            byte[] full = le(8).putLong(0, v).array();
            int n = 8;
            while (n > 1 && ((full[n - 1] == 0 && full[n - 2] >= 0) || (full[n - 1] == -1 && full[n - 2] < 0))) n--;
            return op(0x8a).raw(new byte[] {(byte) n}).raw(Arrays.copyOf(full, n));
        }

        Pkl integer(long v) {
            if (v >= 0 && v < 256) return int1((int) v);
            if (v >= 0 && v < 65536) return int2((int) v);
            if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) return int4((int) v);
            return long1(v);
        }

        Pkl put(int i) { return i < 256 ? op(0x71).raw(new byte[] {(byte) i}) : op(0x72).raw(le(4).putInt(0, i).array()); }

        Pkl get(int i) { return i < 256 ? op(0x68).raw(new byte[] {(byte) i}) : op(0x6a).raw(le(4).putInt(0, i).array()); }

        Pkl mark() { return op(0x28); }

        Pkl stop() { return op(0x2e); }

        byte[] bytes() { return b.toByteArray(); }
    }

    /** One tensor of a state dict: {@code storageType} without the {@code torch.} prefix. */
    record Spec(String name, String storageType, String key, long numel, long offset, long[] size, long[] stride,
                boolean parameter) {
        Spec(String name, String storageType, String key, long numel, long offset, long[] size, long[] stride) {
            this(name, storageType, key, numel, offset, size, stride, false);
        }
    }

    /**
     * @param ordered    top level is collections.OrderedDict (with a _metadata BUILD, as a raw state_dict())
     * @param batch      SETITEMS batch size (pickle uses 1000)
     * @param memoStart  first memo index (> 255 forces LONG_BINPUT / LONG_BINGET)
     * @param long1Offsets write storage offsets with LONG1
     * @param bigNumel   write numel with BININT even when it is small
     */
    record Opts(boolean ordered, int batch, int memoStart, boolean long1Offsets, boolean bigNumel) {
        static final Opts PLAIN = new Opts(false, 1000, 0, false, false);
    }

    /** A data.pkl laid out the way torch.save (pickle protocol 2) writes it. */
    static Pkl stateDict(List<Spec> specs, Opts o) {
        Pkl p = new Pkl().proto(2);
        int[] memo = {o.memoStart()};
        Map<String, Integer> memoOf = new HashMap<>();
        java.util.function.BiConsumer<String, Runnable> once = (id, write) -> {
            Integer at = memoOf.get(id);
            if (at != null) {
                p.get(at);
            } else {
                write.run();
                memoOf.put(id, memo[0]);
                p.put(memo[0]++);
            }
        };
        Runnable orderedDict = () -> {
            once.accept("G collections.OrderedDict", () -> p.global("collections", "OrderedDict"));
            p.op(0x29).op(0x52);
        };
        if (o.ordered()) {
            orderedDict.run();
        } else {
            p.op(0x7d);
        }
        p.put(memo[0]++);
        for (int start = 0; start < specs.size(); start += o.batch()) {
            p.mark();
            for (Spec s : specs.subList(start, Math.min(specs.size(), start + o.batch()))) {
                p.str(s.name());
                p.put(memo[0]++);
                if (s.parameter()) once.accept("G _rebuild_parameter", () -> p.global("torch._utils", "_rebuild_parameter"));
                once.accept("G _rebuild_tensor_v2", () -> p.global("torch._utils", "_rebuild_tensor_v2"));
                p.mark();
                once.accept("S " + s.key(), () -> {
                    p.mark();
                    p.str("storage");
                    p.put(memo[0]++);
                    once.accept("G " + s.storageType(), () -> p.global("torch", s.storageType()));
                    p.str(s.key());
                    p.put(memo[0]++);
                    p.str("cpu");
                    p.put(memo[0]++);
                    if (o.bigNumel()) p.int4((int) s.numel()); else p.integer(s.numel());
                    p.op(0x74);
                    p.put(memo[0]++);
                    p.op(0x51);
                });
                if (o.long1Offsets()) p.long1(s.offset()); else p.integer(s.offset());
                tuple(p, s.size());
                tuple(p, s.stride());
                p.op(0x89);
                orderedDict.run();
                p.put(memo[0]++);
                p.op(0x74);
                p.put(memo[0]++);
                p.op(0x52);
                p.put(memo[0]++);
                if (s.parameter()) {
                    p.op(0x89);
                    orderedDict.run();
                    p.op(0x87).op(0x52);
                    p.put(memo[0]++);
                }
            }
            p.op(0x75);
        }
        if (o.ordered()) {
            // state = {'_metadata': OrderedDict({'': {'version': 1}})}
            p.op(0x7d).str("_metadata");
            orderedDict.run();
            p.str("").op(0x7d).str("version").int1(1).op(0x73).op(0x73);
            p.op(0x73).op(0x62);
        }
        return p.stop();
    }

    private static void tuple(Pkl p, long[] v) {
        switch (v.length) {
            case 0 -> p.op(0x29);
            case 1 -> { p.integer(v[0]); p.op(0x85); }
            case 2 -> { p.integer(v[0]); p.integer(v[1]); p.op(0x86); }
            case 3 -> { p.integer(v[0]); p.integer(v[1]); p.integer(v[2]); p.op(0x87); }
            default -> { p.mark(); for (long x : v) p.integer(x); p.op(0x74); }
        }
    }

    /** The entries of a torch.save archive: data.pkl, byteorder, data/<key>..., version. */
    static Map<String, byte[]> checkpointEntries(String prefix, byte[] pkl, Map<String, byte[]> storages) {
        Map<String, byte[]> e = new LinkedHashMap<>();
        e.put(prefix + "/data.pkl", pkl);
        e.put(prefix + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        for (String k : new TreeSet<>(storages.keySet())) e.put(prefix + "/data/" + k, storages.get(k));
        e.put(prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return e;
    }

    static void writeCheckpoint(Path f, String prefix, byte[] pkl, Map<String, byte[]> storages, boolean zip64)
            throws IOException {
        Map<String, byte[]> entries = checkpointEntries(prefix, pkl, storages);
        if (zip64) writeZip64(f, entries); else writeJavaZip(f, entries, Set.of());
    }

    /** A zip written by java.util.zip: STORED entries (size and CRC set), except those named in {@code deflate}. */
    static void writeJavaZip(Path f, Map<String, byte[]> entries, Set<String> deflate) throws IOException {
        try (OutputStream os = Files.newOutputStream(f); ZipOutputStream z = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                if (deflate.contains(e.getKey())) {
                    ze.setMethod(ZipEntry.DEFLATED);
                } else {
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    ze.setMethod(ZipEntry.STORED);
                    ze.setSize(e.getValue().length);
                    ze.setCompressedSize(e.getValue().length);
                    ze.setCrc(crc.getValue());
                }
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
    }

    /**
     * A zip written by hand the way large torch files look: every size and offset in ZIP64 extra fields (the
     * 32-bit fields all ones), ZIP64 end record + locator, and local headers padded (extra id 'FB') so that entry
     * data starts at a multiple of 64.
     */
    static void writeZip64(Path f, Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream cd = new ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            byte[] data = e.getValue();
            CRC32 crc = new CRC32();
            crc.update(data);
            long lho = out.size();
            int base = 30 + name.length + 20; // + zip64 extra (4 + 16)
            int pad = (int) ((64 - (lho + base + 4) % 64) % 64);
            ByteBuffer lh = le(30).putInt(0x04034b50).putShort((short) 45).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue()).putInt(-1).putInt(-1)
                    .putShort((short) name.length).putShort((short) (20 + 4 + pad));
            out.writeBytes(lh.array());
            out.writeBytes(name);
            out.writeBytes(le(20).putShort((short) 1).putShort((short) 16).putLong(data.length).putLong(data.length).array());
            out.writeBytes(le(4 + pad).putShort((short) 0x4246).putShort((short) pad).array());
            assertEquals(0, out.size() % 64);
            out.writeBytes(data);

            ByteBuffer ch = le(46).putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue())
                    .putInt(-1).putInt(-1).putShort((short) name.length).putShort((short) 28).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putInt(0).putInt(-1);
            cd.writeBytes(ch.array());
            cd.writeBytes(name);
            cd.writeBytes(le(28).putShort((short) 1).putShort((short) 24).putLong(data.length).putLong(data.length)
                    .putLong(lho).array());
        }
        long cdOffset = out.size();
        out.writeBytes(cd.toByteArray());
        long z64 = out.size();
        out.writeBytes(le(56).putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0)
                .putInt(0).putLong(entries.size()).putLong(entries.size()).putLong(cd.size()).putLong(cdOffset).array());
        out.writeBytes(le(20).putInt(0x07064b50).putInt(0).putLong(z64).putInt(1).array());
        out.writeBytes(le(22).putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) -1)
                .putShort((short) -1).putInt(-1).putInt(-1).putShort((short) 0).array());
        Files.write(f, out.toByteArray());
    }
}
