package dev.minitron.tools;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Dequant;
import dev.minitron.tensor.Quantize;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Quantize against ggml's reference rules, worked out by hand for a few blocks, and round-trip error bounds. */
class QuantizeTest {

    private static short d16(byte[] b, int blockStart) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getShort(blockStart);
    }

    @Test
    void q8_0RampBlock() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = j - 16; // -16 .. 15
        byte[] q = Quantize.encode(DType.Q8_0, x);
        assertEquals(34, q.length);
        // d = 16/127 = 0.1259842..; as f16: exponent -3, mantissa round(0.007874*1024) = 8 -> 0x3008
        assertEquals((short) 0x3008, d16(q, 0));
        // id = 127/16 = 7.9375; q = roundf(x * id)
        assertEquals(-127, q[2]);        // x = -16
        assertEquals(8, q[2 + 17]);      // x = 1: 7.9375 -> 8
        assertEquals(16, q[2 + 18]);     // x = 2: 15.875 -> 16
        assertEquals(0, q[2 + 16]);      // x = 0
        assertEquals(119, q[2 + 31]);    // x = 15: 119.0625 -> 119
        assertEquals(-24, q[2 + 13]);    // x = -3: -23.8125 -> -24
    }

    @Test
    void q8_0RoundsHalvesAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127f; // d = 1, id = 1
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.5f;
        x[4] = -0.5f;
        x[5] = -127f;
        byte[] q = Quantize.encode(DType.Q8_0, x);
        assertEquals((short) 0x3C00, d16(q, 0)); // 1.0
        assertArrayEquals(new byte[] {127, 3, -3, 1, -1, -127, 0}, java.util.Arrays.copyOfRange(q, 2, 9));
    }

    @Test
    void q8_0ZeroBlock() {
        byte[] q = Quantize.encode(DType.Q8_0, new float[64]);
        assertArrayEquals(new byte[68], q);
    }

    @Test
    void q4_0RampBlock() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = j - 16; // first largest magnitude: -16 -> d = -16 / -8 = 2
        byte[] q = Quantize.encode(DType.Q4_0, x);
        assertEquals(18, q.length);
        assertEquals((short) 0x4000, d16(q, 0)); // 2.0
        for (int j = 0; j < 16; j++) {
            // low nibble: x = j - 16 -> (int)((j-16)/2 + 8.5) = (j+1)/2 ; high nibble: x = j -> min(15, 8 + (j+1)/2)
            int lo = (j + 1) / 2;
            int hi = Math.min(15, 8 + (j + 1) / 2);
            assertEquals(lo | hi << 4, q[2 + j] & 0xFF, "byte " + j);
        }
    }

    @Test
    void q4_0SignOfScaleFollowsFirstLargestValue() {
        float[] a = new float[32];
        a[3] = 3f;
        a[7] = -3f; // same magnitude later: ignored
        byte[] qa = Quantize.encode(DType.Q4_0, a);
        assertEquals(-0.375f, Float.float16ToFloat(d16(qa, 0)));
        assertEquals(0, qa[2 + 3] & 0x0F); // 3 * (1/-0.375) + 8.5 = 0.5 -> 0
        assertEquals(15, qa[2 + 7] & 0x0F); // -3 -> 16.5 -> 16 -> clamped 15
        assertEquals(8, qa[2] & 0x0F);      // 0 -> 8
        float[] b = new float[32];
        b[3] = -3f;
        b[7] = 3f;
        assertEquals(0.375f, Float.float16ToFloat(d16(Quantize.encode(DType.Q4_0, b), 0)));
    }

    @Test
    void q8_0RoundTripThroughDequant() {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.pow(10, (i / 32) % 7 - 3));
        byte[] q = Quantize.encode(DType.Q8_0, x);
        float[] y = new float[x.length];
        Dequant.dequantize(DType.Q8_0, MemorySegment.ofArray(q), 0, y, 0, x.length);
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
            float d = amax / 127f;
            float dStored = Float.float16ToFloat(d16(q, 34 * b));
            // rounding to the nearest step: d/2, plus what the f16 rounding of d moves the largest step
            double bound = d / 2 + 127 * Math.abs(d - dStored) + 1e-7 * amax;
            for (int j = 0; j < 32; j++) {
                int i = 32 * b + j;
                assertTrue(Math.abs(x[i] - y[i]) <= bound, "element " + i + ": " + x[i] + " vs " + y[i] + " bound " + bound);
            }
        }
    }

    /** Test-side Q4_0 decoder (tensor/KQuants has none yet): value = (nibble - 8) * d. */
    private static float[] decodeQ4_0(byte[] q, int n) {
        float[] y = new float[n];
        for (int b = 0; b < n / 32; b++) {
            float d = Float.float16ToFloat(d16(q, 18 * b));
            for (int j = 0; j < 16; j++) {
                int v = q[18 * b + 2 + j] & 0xFF;
                y[32 * b + j] = ((v & 0x0F) - 8) * d;
                y[32 * b + 16 + j] = ((v >> 4) - 8) * d;
            }
        }
        return y;
    }

    @Test
    void q4_0RoundTrip() {
        SplittableRandom r = new SplittableRandom(11);
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.pow(10, (i / 32) % 5 - 2));
        byte[] q = Quantize.encode(DType.Q4_0, x);
        float[] y = decodeQ4_0(q, x.length);
        for (int b = 0; b < x.length / 32; b++) {
            float max = 0, amax = 0;
            for (int j = 0; j < 32; j++) {
                float v = x[32 * b + j];
                if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
            }
            float d = max / -8f;
            float dStored = Float.float16ToFloat(d16(q, 18 * b));
            double slack = 8 * Math.abs(d - dStored) + 1e-6 * amax;
            for (int j = 0; j < 32; j++) {
                int i = 32 * b + j;
                boolean clamped = x[i] / d + 8.5f >= 16f; // the value opposite the max may need step 8: clamped to 7
                double bound = (clamped ? Math.abs(d) : Math.abs(d) / 2) + slack;
                assertTrue(Math.abs(x[i] - y[i]) <= bound, "element " + i + ": " + x[i] + " vs " + y[i] + " bound " + bound);
            }
            assertEquals(max, y[32 * b + indexOf(x, 32 * b, max)], Math.abs(max - dStored * -8) + 1e-12, "max is exact up to d's f16 rounding");
        }
    }

    private static int indexOf(float[] x, int from, float v) {
        for (int j = 0; j < 32; j++) if (x[from + j] == v) return j;
        throw new AssertionError();
    }

    @Test
    void floatEncodings() {
        float[] x = {1f, -2.5f, 1e-3f, 65504f, (float) Math.PI};
        byte[] f16 = Quantize.encode(DType.F16, x);
        byte[] bf16 = Quantize.encode(DType.BF16, x);
        byte[] f32 = Quantize.encode(DType.F32, x);
        ByteBuffer h = ByteBuffer.wrap(f16).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer bb = ByteBuffer.wrap(bf16).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer f = ByteBuffer.wrap(f32).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals((short) 0x3C00, h.getShort(0));
        assertEquals((short) 0xC100, h.getShort(2));
        assertEquals((short) 0x7BFF, h.getShort(6));
        assertEquals((short) 0x3F80, bb.getShort(0));
        assertEquals((short) 0xC020, bb.getShort(2));
        assertEquals((short) 0x4049, bb.getShort(8)); // pi = 0x40490FDB -> rounds down to 0x4049
        for (int i = 0; i < x.length; i++) assertEquals(x[i], f.getFloat(4 * i));
    }

    @Test
    void rejectsPartialBlocks() {
        assertThrows(IllegalArgumentException.class, () -> Quantize.encode(DType.Q8_0, new float[31]));
    }
}
