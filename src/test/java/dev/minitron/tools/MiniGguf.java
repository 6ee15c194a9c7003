package dev.minitron.tools;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deliberately small, independent GGUF reader for tests: header, typed metadata, tensor infos. It shares no
 * code with the writer, so a layout mistake in the writer shows up as a parse failure or a wrong value here.
 */
public final class MiniGguf {
    public record Kv(int type, Object value, int elemType) {}

    public record Info(String name, long[] ne, int type, long offset) {}

    public final int version;
    public final Map<String, Kv> kv = new LinkedHashMap<>();
    public final List<Info> tensors = new ArrayList<>();
    public final long dataStart;
    public final long fileSize;
    private final ByteBuffer b;

    public MiniGguf(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            fileSize = ch.size();
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, 0, fileSize);
            b = m.order(ByteOrder.LITTLE_ENDIAN);
        }
        byte[] magic = new byte[4];
        b.get(magic);
        if (!"GGUF".equals(new String(magic, StandardCharsets.US_ASCII))) throw new IOException("bad magic");
        version = b.getInt();
        long nt = b.getLong();
        long nkv = b.getLong();
        for (long i = 0; i < nkv; i++) {
            String key = str();
            int t = b.getInt();
            if (t == 9) {
                int et = b.getInt();
                long n = b.getLong();
                List<Object> vals = new ArrayList<>();
                for (long j = 0; j < n; j++) vals.add(scalar(et));
                kv.put(key, new Kv(t, vals, et));
            } else {
                kv.put(key, new Kv(t, scalar(t), -1));
            }
        }
        for (long i = 0; i < nt; i++) {
            String name = str();
            int nd = b.getInt();
            long[] ne = new long[nd];
            for (int j = 0; j < nd; j++) ne[j] = b.getLong();
            tensors.add(new Info(name, ne, b.getInt(), b.getLong()));
        }
        long p = b.position();
        dataStart = (p + 31) / 32 * 32;
    }

    private String str() {
        long n = b.getLong();
        byte[] s = new byte[(int) n];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private Object scalar(int t) {
        return switch (t) {
            case 0 -> (long) (b.get() & 0xFF);
            case 1 -> (long) b.get();
            case 2 -> (long) (b.getShort() & 0xFFFF);
            case 3 -> (long) b.getShort();
            case 4 -> b.getInt() & 0xFFFFFFFFL;
            case 5 -> (long) b.getInt();
            case 6 -> b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> str();
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalStateException("unknown kv type " + t);
        };
    }

    public Object get(String key) {
        Kv v = kv.get(key);
        if (v == null) throw new AssertionError("missing GGUF key " + key);
        return v.value();
    }

    public int type(String key) { return kv.get(key).type(); }

    public Info tensor(String name) {
        for (Info t : tensors) if (t.name().equals(name)) return t;
        throw new AssertionError("missing tensor " + name);
    }

    /** Elements of an F32 tensor. */
    public float[] f32(String name) {
        Info t = tensor(name);
        if (t.type() != 0) throw new AssertionError(name + " is type " + t.type());
        long n = 1;
        for (long d : t.ne()) n *= d;
        float[] out = new float[(int) n];
        for (int i = 0; i < n; i++) out[i] = b.getFloat((int) (dataStart + t.offset() + 4L * i));
        return out;
    }

    /** Raw bytes of a tensor region. */
    public byte[] bytes(String name, int len) {
        Info t = tensor(name);
        byte[] out = new byte[len];
        b.get((int) (dataStart + t.offset()), out);
        return out;
    }
}
