package dev.minitron.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Test fixtures of {@code fixtures/tiny-k/dequant-check/*.json}: per GGUF file and ggml type, the raw bytes of the
 * first blocks of one tensor, its first dequantized values (exact float32) and whole-tensor checksums, all
 * produced by ggml's own dequantization.
 */
public final class DequantChecks {
    private DequantChecks() {}

    /** One tensor of a dequant-check file. {@code ne} is in ggml order. */
    public record Check(String file, String name, String ggmlType, int ggmlTypeId, int blockSize, int typeSize,
                        long[] ne, long nBytes, long fileOffset, byte[] raw, float[] values,
                        double sum, double sumSq, String sha256) {
        @Override
        public String toString() {
            return file + ":" + name + " (" + ggmlType + ")";
        }
    }

    /** A test resource as a path on disk. */
    public static Path resource(String name) {
        var url = DequantChecks.class.getResource("/" + name);
        if (url == null) throw new IllegalStateException("test resource missing: " + name);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path checkDir() {
        return resource("fixtures/tiny-k/dequant-check");
    }

    /** Every tensor of every dequant-check JSON. */
    public static List<Check> all() {
        try (Stream<Path> files = Files.list(checkDir())) {
            List<Check> out = new ArrayList<>();
            for (Path p : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) out.addAll(load(p));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The checks of one GGUF file, e.g. {@code "tiny-k-q2_k.gguf"}. */
    public static List<Check> forFile(String gguf) {
        return load(checkDir().resolve(gguf.replace(".gguf", ".dequant-check.json")));
    }

    static List<Check> load(Path json) {
        try {
            JsonNode root = new ObjectMapper().readTree(json.toFile());
            String file = root.get("file").asText();
            List<Check> out = new ArrayList<>();
            for (JsonNode t : root.get("tensors")) {
                JsonNode neNode = t.get("ne");
                long[] ne = new long[neNode.size()];
                for (int i = 0; i < ne.length; i++) ne[i] = neNode.get(i).asLong();
                JsonNode v = t.get("values");
                float[] values = new float[v.size()];
                for (int i = 0; i < values.length; i++) {
                    double d = v.get(i).asDouble();
                    values[i] = (float) d;
                    if (values[i] != d) throw new IllegalStateException(json + ": value " + d + " is not a float32");
                }
                out.add(new Check(file, t.get("name").asText(), t.get("ggml_type").asText(),
                        t.get("ggml_type_id").asInt(), t.get("block_size").asInt(), t.get("type_size").asInt(),
                        ne, t.get("n_bytes").asLong(), t.get("file_offset").asLong(),
                        HexFormat.of().parseHex(t.get("raw_hex").asText()), values,
                        t.get("sum_f64").asDouble(), t.get("sumsq_f64").asDouble(), t.get("sha256_f32le").asText()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** sha256 (hex) of {@code v} as little-endian float32. */
    public static String sha256(float[] v) {
        ByteBuffer buf = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(v);
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(buf.array()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Heap segment over {@code bytes}. */
    public static MemorySegment segment(byte[] bytes) {
        return MemorySegment.ofArray(bytes);
    }
}
