package dev.minitron.tensor;

import dev.minitron.tensor.DequantChecks.Check;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Dequantization of every GGUF type against ggml's own output: the raw blocks and the first 512 values from
 * {@code fixtures/tiny-k/dequant-check}, compared bit for bit.
 */
class KQuantsTest {

    static List<Check> checks() {
        return DequantChecks.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checks")
    void firstBlocksMatchGgmlBitForBit(Check c) {
        DType type = DType.valueOf(c.ggmlType());
        assertEquals(c.ggmlTypeId(), type.ggmlId(), "ggml id of " + type);
        assertEquals(c.blockSize(), type.blockSize(), "block size of " + type);
        assertEquals(c.typeSize(), type.blockBytes(), "block bytes of " + type);

        int n = c.values().length;
        assertEquals(type.bytesFor(n), c.raw().length, "raw_hex covers exactly the checked values");
        float[] out = new float[n];
        Dequant.dequantize(type, DequantChecks.segment(c.raw()), 0, out, 0, n);
        assertBitsEqual(c.values(), 0, out, 0, n, c.toString());
    }

    /** Dequantizing one block at a byte offset into the middle of dst gives the same bits as the whole run. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("checks")
    void singleBlockAtOffsets(Check c) {
        DType type = DType.valueOf(c.ggmlType());
        int bs = type.blockSize();
        int blocks = c.values().length / bs;
        MemorySegment seg = DequantChecks.segment(c.raw());
        for (int b = blocks - 1; b >= 0; b--) {
            float[] out = new float[bs + 7];
            out[6] = 42f;
            out[bs + 6] = 43f;
            Dequant.dequantize(type, seg, (long) b * type.blockBytes(), out, 6, bs);
            assertBitsEqual(c.values(), b * bs, out, 6, bs, c + " block " + b);
        }
    }

    @Test
    void everyQuantizedTypeIsChecked() {
        Set<DType> seen = EnumSet.noneOf(DType.class);
        for (Check c : checks()) seen.add(DType.valueOf(c.ggmlType()));
        Set<DType> expected = EnumSet.of(DType.F32, DType.Q4_0, DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.Q8_0,
                DType.Q2_K, DType.Q3_K, DType.Q4_K, DType.Q5_K, DType.Q6_K);
        assertEquals(expected, seen);
    }

    /** Hand-built Q4_0 block: d = 0.5, every byte 0x9 in the high nibble and 0x7 in the low one. */
    @Test
    void q4_0ByHand() {
        byte[] blk = new byte[18];
        short half = Float.floatToFloat16(0.5f);
        blk[0] = (byte) half;
        blk[1] = (byte) (half >> 8);
        for (int j = 0; j < 16; j++) blk[2 + j] = (byte) 0x97;
        float[] out = new float[32];
        Dequant.dequantize(DType.Q4_0, MemorySegment.ofArray(blk), 0, out, 0, 32);
        for (int j = 0; j < 16; j++) {
            assertEquals(-0.5f, out[j], "low nibble 7 -> (7 - 8) * 0.5");
            assertEquals(0.5f, out[j + 16], "high nibble 9 -> (9 - 8) * 0.5");
        }
    }

    /** Hand-built Q6_K block: scale 2 everywhere, d = 0.25, all quants 33 (ql nibble 1, qh bits 2) -> 0.5. */
    @Test
    void q6_KByHand() {
        byte[] blk = new byte[210];
        for (int i = 0; i < 128; i++) blk[i] = 0x11;            // ql: both nibbles 1
        for (int i = 128; i < 192; i++) blk[i] = (byte) 0xAA;   // qh: every 2-bit field 2 -> +32
        for (int i = 192; i < 208; i++) blk[i] = 2;             // scales
        short half = Float.floatToFloat16(0.25f);
        blk[208] = (byte) half;
        blk[209] = (byte) (half >> 8);
        float[] out = new float[256];
        Dequant.dequantize(DType.Q6_K, MemorySegment.ofArray(blk), 0, out, 0, 256);
        for (float f : out) assertEquals(0.5f, f);              // (0.25 * 2) * (33 - 32)
    }

    @Test
    void partialBlockIsRefused() {
        float[] out = new float[256];
        MemorySegment seg = MemorySegment.ofArray(new byte[256]);
        var e = assertThrows(IllegalArgumentException.class, () -> Dequant.dequantize(DType.Q4_K, seg, 0, out, 0, 100));
        assertTrue(e.getMessage().contains("256"), e.getMessage());
    }

    static void assertBitsEqual(float[] expected, int eOff, float[] actual, int aOff, int n, String what) {
        for (int i = 0; i < n; i++) {
            int e = Float.floatToRawIntBits(expected[eOff + i]);
            int a = Float.floatToRawIntBits(actual[aOff + i]);
            if (e != a) {
                fail(what + ": element " + (eOff + i) + " is " + actual[aOff + i] + " (0x" + Integer.toHexString(a)
                        + "), ggml gives " + expected[eOff + i] + " (0x" + Integer.toHexString(e) + ")");
            }
        }
    }
}
