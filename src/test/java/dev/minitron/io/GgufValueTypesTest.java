package dev.minitron.io;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Every GGUF metadata value type, written by hand, maps to the documented Java type. */
class GgufValueTypesTest {
    @TempDir
    Path tmp;

    /** Little-endian byte writer for building GGUF files. */
    static final class W {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        W bytes(byte[] b) { out.writeBytes(b); return this; }
        W u8(int v) { out.write(v); return this; }
        W u16(int v) { return bytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) v).array()); }
        W u32(int v) { return bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array()); }
        W u64(long v) { return bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array()); }
        W f32(float v) { return u32(Float.floatToRawIntBits(v)); }
        W f64(double v) { return u64(Double.doubleToRawLongBits(v)); }
        W str(String s) { byte[] b = s.getBytes(StandardCharsets.UTF_8); return u64(b.length).bytes(b); }
        W key(String k, int type) { return str(k).u32(type); }
        W pad(int alignment) { while (out.size() % alignment != 0) out.write(0); return this; }
        int size() { return out.size(); }
    }

    static byte[] build(int version) {
        W w = new W();
        w.u32(Gguf.MAGIC).u32(version).u64(2).u64(28);
        w.key("u8", Gguf.T_UINT8).u8(200);
        w.key("i8", Gguf.T_INT8).u8(0xFB);
        w.key("u16", Gguf.T_UINT16).u16(60000);
        w.key("i16", Gguf.T_INT16).u16(-300);
        w.key("u32", Gguf.T_UINT32).u32((int) 4_000_000_000L);
        w.key("i32", Gguf.T_INT32).u32(-7);
        w.key("u64", Gguf.T_UINT64).u64(-1L);
        w.key("i64", Gguf.T_INT64).u64(-9L);
        w.key("f32", Gguf.T_FLOAT32).f32(1.1f);
        w.key("f64", Gguf.T_FLOAT64).f64(0.1);
        w.key("bool", Gguf.T_BOOL).u8(1);
        w.key("str", Gguf.T_STRING).str("héllo ✓");
        w.key("a.u8", Gguf.T_ARRAY).u32(Gguf.T_UINT8).u64(2).u8(255).u8(1);
        w.key("a.i8", Gguf.T_ARRAY).u32(Gguf.T_INT8).u64(1).u8(0xFF);
        w.key("a.u16", Gguf.T_ARRAY).u32(Gguf.T_UINT16).u64(1).u16(65535);
        w.key("a.i16", Gguf.T_ARRAY).u32(Gguf.T_INT16).u64(1).u16(-2);
        w.key("a.u32", Gguf.T_ARRAY).u32(Gguf.T_UINT32).u64(1).u32(-1);
        w.key("a.i32", Gguf.T_ARRAY).u32(Gguf.T_INT32).u64(3).u32(1).u32(-2).u32(3);
        w.key("a.u64", Gguf.T_ARRAY).u32(Gguf.T_UINT64).u64(1).u64(1L << 40);
        w.key("a.i64", Gguf.T_ARRAY).u32(Gguf.T_INT64).u64(2).u64(-1).u64(5);
        w.key("a.f32", Gguf.T_ARRAY).u32(Gguf.T_FLOAT32).u64(2).f32(0.5f).f32(-2f);
        w.key("a.f64", Gguf.T_ARRAY).u32(Gguf.T_FLOAT64).u64(1).f64(0.1);
        w.key("a.bool", Gguf.T_ARRAY).u32(Gguf.T_BOOL).u64(2).u8(1).u8(0);
        w.key("a.str", Gguf.T_ARRAY).u32(Gguf.T_STRING).u64(2).str("a").str("");
        w.key("a.empty", Gguf.T_ARRAY).u32(Gguf.T_STRING).u64(0);
        w.key("a.nested", Gguf.T_ARRAY).u32(Gguf.T_ARRAY).u64(2)
                .u32(Gguf.T_INT32).u64(2).u32(1).u32(2)
                .u32(Gguf.T_FLOAT32).u64(1).f32(3f);
        w.key("general.alignment", Gguf.T_UINT32).u32(64);
        w.key("big", Gguf.T_ARRAY).u32(Gguf.T_UINT64).u64(0);
        // tensors: "w" F32 ne [4, 2] at 0; "q" Q8_0 ne [32] at 64
        w.str("w").u32(2).u64(4).u64(2).u32(0).u64(0);
        w.str("q").u32(1).u64(32).u32(8).u64(64);
        w.pad(64);
        int data = w.size();
        for (int i = 0; i < 8; i++) w.f32(i + 0.25f);
        w.pad(64);
        assertEquals(data + 64, w.size());
        w.u16(Float.floatToFloat16(0.5f));
        for (int i = 0; i < 32; i++) w.u8(i - 16);
        return w.out.toByteArray();
    }

    @Test
    void everyValueTypeMapsAsDocumented() throws IOException {
        Path f = tmp.resolve("types.gguf");
        Files.write(f, build(3));
        Gguf g = Gguf.open(f);
        Map<String, Object> m = g.metadata();
        assertEquals(List.of("u8", "i8", "u16", "i16", "u32"), m.keySet().stream().limit(5).toList());
        assertEquals(200L, m.get("u8"));
        assertEquals(-5L, m.get("i8"));
        assertEquals(60000L, m.get("u16"));
        assertEquals(-300L, m.get("i16"));
        assertEquals(4_000_000_000L, m.get("u32"));
        assertEquals(-7L, m.get("i32"));
        assertEquals(-1L, m.get("u64"), "UINT64 keeps its 64 bits");
        assertEquals(-9L, m.get("i64"));
        assertEquals((double) 1.1f, m.get("f32"));
        assertEquals(0.1, m.get("f64"));
        assertEquals(true, m.get("bool"));
        assertEquals("héllo ✓", g.getString("str"));
        assertArrayEquals(new int[] {255, 1}, (int[]) m.get("a.u8"));
        assertArrayEquals(new int[] {-1}, (int[]) m.get("a.i8"));
        assertArrayEquals(new int[] {65535}, (int[]) m.get("a.u16"));
        assertArrayEquals(new int[] {-2}, (int[]) m.get("a.i16"));
        assertArrayEquals(new int[] {-1}, (int[]) m.get("a.u32"), "UINT32 as its int bits");
        assertArrayEquals(new int[] {1, -2, 3}, g.getInts("a.i32"));
        assertArrayEquals(new long[] {1L << 40}, (long[]) m.get("a.u64"));
        assertArrayEquals(new long[] {-1, 5}, (long[]) m.get("a.i64"));
        assertArrayEquals(new int[] {-1, 5}, g.getInts("a.i64"), "64-bit arrays convert when they fit");
        assertThrows(ModelException.class, () -> g.getInts("a.u64"));
        assertArrayEquals(new float[] {0.5f, -2f}, g.getFloats("a.f32"));
        assertArrayEquals(new double[] {0.1}, (double[]) m.get("a.f64"));
        assertArrayEquals(new boolean[] {true, false}, (boolean[]) m.get("a.bool"));
        assertArrayEquals(new String[] {"a", ""}, g.getStrings("a.str"));
        assertEquals(0, g.getStrings("a.empty").length);
        Object[] nested = (Object[]) m.get("a.nested");
        assertArrayEquals(new int[] {1, 2}, (int[]) nested[0]);
        assertArrayEquals(new float[] {3f}, (float[]) nested[1]);
        assertEquals(0, ((long[]) m.get("big")).length);

        assertEquals(64, g.alignment());
        assertEquals(0, g.dataOffset() % 64);
        Tensor w = g.tensor("w");
        assertArrayEquals(new long[] {2, 4}, w.shape());
        assertArrayEquals(new float[] {0.25f, 1.25f, 2.25f, 3.25f, 4.25f, 5.25f, 6.25f, 7.25f}, w.toFloats());
        Tensor q = g.tensor("q");
        assertEquals(DType.Q8_0, q.dtype());
        assertArrayEquals(new long[] {32}, q.shape());
        float[] qv = q.toFloats();
        for (int i = 0; i < 32; i++) assertEquals((i - 16) * 0.5f, qv[i]);
        assertThrows(UnsupportedOperationException.class, () -> g.metadata().put("x", 1L));
        assertThrows(UnsupportedOperationException.class, () -> g.tensors().clear());
    }

    @Test
    void version2IsRead() throws IOException {
        Path f = tmp.resolve("v2.gguf");
        Files.write(f, build(2));
        Gguf g = Gguf.open(f);
        assertEquals(2, g.version());
        assertEquals(2, g.tensors().size());
    }

    @Test
    void alignmentIsEnforcedForTheDeclaredValue() throws IOException {
        byte[] b = build(3);
        // move "q" to data offset 32: aligned to the default 32 but not to the declared 64
        int p = indexOf(b, new byte[] {1, 0, 0, 0, 0, 0, 0, 0, 'q'}) + 9 + 4 + 8 + 4;
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(p, 32);
        Path f = tmp.resolve("align.gguf");
        Files.write(f, b);
        var e = assertThrows(ModelException.class, () -> Gguf.open(f));
        assertEquals(f + ": tensor 'q': data offset 32 is not a multiple of the alignment 64", e.getMessage());
    }

    static int indexOf(byte[] b, byte[] pat) {
        outer:
        for (int i = 0; i + pat.length <= b.length; i++) {
            for (int j = 0; j < pat.length; j++) if (b[i + j] != pat[j]) continue outer;
            return i;
        }
        throw new IllegalStateException("pattern not found");
    }
}
