package dev.minitron.tools;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Test-side protobuf wire-format walker: a message as a list of (field, wire type, value) records. */
public final class MiniProto {
    public record Field(int number, int wire, long varint, float f32, byte[] bytes) {
        public String string() { return new String(bytes, StandardCharsets.UTF_8); }

        public List<Field> message() { return parse(bytes); }
    }

    public static List<Field> parse(byte[] b) {
        List<Field> out = new ArrayList<>();
        int[] p = {0};
        while (p[0] < b.length) {
            long key = varint(b, p);
            int field = (int) (key >>> 3), wire = (int) (key & 7);
            switch (wire) {
                case 0 -> out.add(new Field(field, 0, varint(b, p), 0, null));
                case 5 -> {
                    float f = ByteBuffer.wrap(b, p[0], 4).order(ByteOrder.LITTLE_ENDIAN).getFloat();
                    p[0] += 4;
                    out.add(new Field(field, 5, 0, f, null));
                }
                case 2 -> {
                    int n = (int) varint(b, p);
                    byte[] v = java.util.Arrays.copyOfRange(b, p[0], p[0] + n);
                    p[0] += n;
                    out.add(new Field(field, 2, 0, 0, v));
                }
                default -> throw new IllegalStateException("unexpected wire type " + wire + " at field " + field);
            }
        }
        return out;
    }

    private static long varint(byte[] b, int[] p) {
        long r = 0;
        for (int s = 0; ; s += 7) {
            int c = b[p[0]++] & 0xFF;
            r |= (long) (c & 0x7F) << s;
            if (c < 0x80) return r;
        }
    }

    public static Field first(List<Field> fields, int number) {
        for (Field f : fields) if (f.number() == number) return f;
        return null;
    }
}
