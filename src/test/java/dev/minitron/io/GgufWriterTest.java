package dev.minitron.io;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Quantize;
import dev.minitron.tools.MiniGguf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class GgufWriterTest {
    @TempDir Path dir;

    private static float[] ramp(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i % 17 - 8) * scale;
        return v;
    }

    private static GgufWriter sample() {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "nemotron")
                .putU32("nemotron.block_count", 3)
                .putU64("big", 1L << 40)
                .putI32("neg", -5)
                .putF32("nemotron.rope.freq_base", 10000f)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putStrings("tokenizer.ggml.tokens", List.of("<pad>", "▁hé", ""))
                .putF32s("tokenizer.ggml.scores", new float[] {-1000f, 0.5f, -2f})
                .putI32s("tokenizer.ggml.token_type", new int[] {3, 1, 6});
        w.addTensor("norm.weight", DType.F32, 5);                 // 20 bytes -> 12 bytes padding
        w.addTensor("q.weight", DType.Q8_0, 3, 64);               // 3 rows x 2 blocks x 34 = 204 bytes
        w.addTensor("e.weight", DType.BF16, 2, 3);                // 12 bytes
        return w;
    }

    private static byte[] bytesOf(String name) {
        return switch (name) {
            case "norm.weight" -> Quantize.encode(DType.F32, ramp(5, 0.5f));
            case "q.weight" -> Quantize.encode(DType.Q8_0, ramp(192, 0.01f));
            case "e.weight" -> Quantize.encode(DType.BF16, ramp(6, 1f));
            default -> throw new AssertionError(name);
        };
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void writesWhatAnIndependentReaderExpects() throws IOException {
        Path f = dir.resolve("m.gguf");
        GgufWriter w = sample();
        w.write(f, (name, out) -> {
            byte[] b = bytesOf(name);
            for (int p = 0; p < b.length; p += 7) out.write(ByteBuffer.wrap(b, p, Math.min(7, b.length - p)));
        });
        MiniGguf g = new MiniGguf(f);
        assertEquals(3, g.version);
        assertEquals("nemotron", g.get("general.architecture"));
        assertEquals(4, g.type("nemotron.block_count"));
        assertEquals(3L, g.get("nemotron.block_count"));
        assertEquals(10, g.type("big"));
        assertEquals(1L << 40, g.get("big"));
        assertEquals(5, g.type("neg"));
        assertEquals(-5L, g.get("neg"));
        assertEquals(6, g.type("nemotron.rope.freq_base"));
        assertEquals(10000f, g.get("nemotron.rope.freq_base"));
        assertEquals(true, g.get("tokenizer.ggml.add_bos_token"));
        assertEquals(List.of("<pad>", "▁hé", ""), g.get("tokenizer.ggml.tokens"));
        assertEquals(8, g.kv.get("tokenizer.ggml.tokens").elemType());
        assertEquals(List.of(-1000f, 0.5f, -2f), g.get("tokenizer.ggml.scores"));
        assertEquals(5, g.kv.get("tokenizer.ggml.token_type").elemType());
        assertEquals(List.of(3L, 1L, 6L), g.get("tokenizer.ggml.token_type"));
        assertEquals(9, g.kv.size());

        assertEquals(3, g.tensors.size());
        MiniGguf.Info q = g.tensor("q.weight");
        assertArrayEquals(new long[] {64, 3}, q.ne(), "ne is the PyTorch shape reversed");
        assertEquals(8, q.type());
        assertArrayEquals(new long[] {3, 2}, g.tensor("e.weight").ne());
        assertEquals(30, g.tensor("e.weight").type());
        assertEquals(List.of(0L, 32L, 256L), g.tensors.stream().map(MiniGguf.Info::offset).toList());
        for (MiniGguf.Info t : g.tensors) {
            assertEquals(0, t.offset() % 32, t.name());
            assertArrayEquals(bytesOf(t.name()), g.bytes(t.name(), bytesOf(t.name()).length), t.name());
        }
        assertEquals(0, g.dataStart % 32);
        assertEquals(w.headerSize(), g.dataStart);
        assertEquals(g.dataStart + 256 + 32, g.fileSize, "last tensor padded to the alignment too");
        assertEquals(w.fileSize(), g.fileSize);
        byte[] raw = Files.readAllBytes(f);
        for (long p = g.dataStart + 20; p < g.dataStart + 32; p++) assertEquals(0, raw[(int) p], "padding is zero");
        assertEquals(List.of(f), listing());
    }

    @Test
    void failureMidwayLeavesNothing() throws IOException {
        Path f = dir.resolve("m.gguf");
        ModelException e = assertThrows(ModelException.class, () -> sample().write(f, (name, out) -> {
            if (name.equals("q.weight")) throw new IOException("no space left on device");
            out.write(ByteBuffer.wrap(bytesOf(name)));
        }));
        assertTrue(e.getMessage().startsWith(f.toAbsolutePath().toString()) || e.getMessage().contains("m.gguf"), e.getMessage());
        assertEquals(List.of(), listing());
        assertThrows(IllegalStateException.class, () -> sample().write(f, (name, out) -> out.write(ByteBuffer.wrap(bytesOf("norm.weight")))));
        assertEquals(List.of(), listing());
    }

    @Test
    void rejectsBadDeclarations() {
        GgufWriter w = new GgufWriter().putU32("a", 1);
        assertThrows(IllegalArgumentException.class, () -> w.putString("a", "x"));
        assertThrows(IllegalArgumentException.class, () -> w.putU32("b", -1));
        assertThrows(IllegalArgumentException.class, () -> w.putU32("b", 1L << 32));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", DType.Q8_0, 4, 48));
        w.addTensor("t", DType.F32, 4);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", DType.F32, 4));
    }

    @Test
    void emptyTensorListStillAligned() throws IOException {
        Path f = dir.resolve("kv-only.gguf");
        new GgufWriter().putString("general.name", "x").write(f, (n, o) -> { throw new AssertionError(); });
        MiniGguf g = new MiniGguf(f);
        assertEquals(0, g.tensors.size());
        assertEquals(0, g.fileSize % 32);
        assertTrue(Arrays.equals(new byte[] {'G', 'G', 'U', 'F'}, Arrays.copyOf(Files.readAllBytes(f), 4)));
    }
}
