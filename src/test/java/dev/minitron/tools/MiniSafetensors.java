package dev.minitron.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test-side safetensors header parser (Jackson), independent of the writer. */
public final class MiniSafetensors {
    public record Info(String dtype, long[] shape, long begin, long end) {}

    public final long headerLen;
    public final String rawHeader;
    public final JsonNode metadata;
    public final Map<String, Info> tensors = new LinkedHashMap<>();
    public final long fileSize;
    private final Path file;

    public MiniSafetensors(Path file) throws IOException {
        this.file = file;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            fileSize = ch.size();
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            headerLen = len.getLong(0);
            ByteBuffer h = ByteBuffer.allocate((int) headerLen);
            ch.read(h, 8);
            rawHeader = new String(h.array(), StandardCharsets.UTF_8);
        }
        JsonNode root = new ObjectMapper().readTree(rawHeader);
        metadata = root.get("__metadata__");
        root.properties().forEach(e -> {
            if (e.getKey().equals("__metadata__")) return;
            JsonNode t = e.getValue();
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = t.get("shape").get(i).asLong();
            tensors.put(e.getKey(), new Info(t.get("dtype").asText(), shape,
                    t.get("data_offsets").get(0).asLong(), t.get("data_offsets").get(1).asLong()));
        });
    }

    public long dataStart() { return 8 + headerLen; }

    /** Elements of a tensor as floats (F32, F16, BF16). */
    public float[] floats(String name) throws IOException {
        Info t = tensors.get(name);
        if (t == null) throw new AssertionError("missing tensor " + name);
        ByteBuffer buf = ByteBuffer.allocate((int) (t.end() - t.begin())).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.read(buf, dataStart() + t.begin());
        }
        int w = t.dtype().equals("F32") ? 4 : 2;
        float[] out = new float[buf.capacity() / w];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (t.dtype()) {
                case "F32" -> buf.getFloat(4 * i);
                case "F16" -> Float.float16ToFloat(buf.getShort(2 * i));
                case "BF16" -> Float.intBitsToFloat(buf.getShort(2 * i) << 16);
                default -> throw new AssertionError(t.dtype());
            };
        }
        return out;
    }
}
