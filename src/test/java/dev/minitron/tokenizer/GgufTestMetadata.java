package dev.minitron.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test-only reader of a GGUF (v2/v3) file's metadata key-value pairs (it stops before the tensor infos),
 * giving values the way the project's GGUF reader does: integers as Long, floats as Double, Boolean, String,
 * arrays as String[] / int[] / long[] / float[] / double[] / boolean[]. Keeps the tokenizer tests independent
 * of the io package.
 */
final class GgufTestMetadata {
    private GgufTestMetadata() {}

    static Map<String, Object> read(Path file) {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            if (buf.getInt() != 0x46554747) throw new IllegalArgumentException(file + ": not GGUF");
            int version = buf.getInt();
            if (version < 2) throw new IllegalArgumentException(file + ": GGUF v" + version);
            buf.getLong(); // tensor count
            long kvCount = buf.getLong();
            Map<String, Object> metadata = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = string(buf);
                metadata.put(key, value(buf, buf.getInt()));
            }
            return metadata;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String string(ByteBuffer buf) {
        byte[] bytes = new byte[(int) buf.getLong()];
        buf.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static Object value(ByteBuffer buf, int type) {
        return switch (type) {
            case 0 -> (long) (buf.get() & 0xFF);
            case 1 -> (long) buf.get();
            case 2 -> (long) (buf.getShort() & 0xFFFF);
            case 3 -> (long) buf.getShort();
            case 4 -> buf.getInt() & 0xFFFFFFFFL;
            case 5 -> (long) buf.getInt();
            case 6 -> (double) buf.getFloat();
            case 7 -> buf.get() != 0;
            case 8 -> string(buf);
            case 9 -> array(buf);
            case 10, 11 -> buf.getLong();
            case 12 -> buf.getDouble();
            default -> throw new IllegalArgumentException("GGUF value type " + type);
        };
    }

    private static Object array(ByteBuffer buf) {
        int type = buf.getInt();
        int n = (int) buf.getLong();
        switch (type) {
            case 8 -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) a[i] = string(buf);
                return a;
            }
            case 6 -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = buf.getFloat();
                return a;
            }
            case 12 -> {
                double[] a = new double[n];
                for (int i = 0; i < n; i++) a[i] = buf.getDouble();
                return a;
            }
            case 7 -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = buf.get() != 0;
                return a;
            }
            case 0, 1, 2, 3, 5 -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) a[i] = (int) (long) (Long) value(buf, type);
                return a;
            }
            case 4, 10, 11 -> {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) a[i] = (Long) value(buf, type);
                return a;
            }
            default -> throw new IllegalArgumentException("GGUF array of type " + type);
        }
    }
}
