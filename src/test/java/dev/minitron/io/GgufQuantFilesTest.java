package dev.minitron.io;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.DequantChecks;
import dev.minitron.tensor.DequantChecks.Check;
import dev.minitron.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Whole-tensor checks on the tiny-k GGUF files kept in the repository: q2_k (Q2_K, Q3_K, Q6_K), q3_k_m (Q3_K,
 * Q4_K, Q5_K, Q6_K), q4_0, q4_1, q5_0 and q5_1, the fewest files that cover every quantized type. Each tensor of
 * the dequant-check JSON must dequantize to the same sha256 as ggml's float32 output, and every tensor must have
 * the type listed in ggml-types.md.
 */
class GgufQuantFilesTest {
    static final List<String> FILES = List.of("tiny-k-q2_k.gguf", "tiny-k-q3_k_m.gguf", "tiny-k-q4_0.gguf",
            "tiny-k-q4_1.gguf", "tiny-k-q5_0.gguf", "tiny-k-q5_1.gguf");

    static Path gguf(String name) {
        return DequantChecks.resource("fixtures/tiny-k/gguf/" + name);
    }

    static List<Check> checks() {
        List<Check> out = new ArrayList<>();
        for (String f : FILES) out.addAll(DequantChecks.forFile(f));
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checks")
    void wholeTensorMatchesGgml(Check c) {
        Gguf g = Gguf.open(gguf(c.file()));
        Tensor t = g.tensor(c.name());
        assertEquals(DType.valueOf(c.ggmlType()), t.dtype());
        long[] ne = c.ne();
        long[] reversed = new long[ne.length];
        for (int i = 0; i < ne.length; i++) reversed[i] = ne[ne.length - 1 - i];
        assertArrayEquals(reversed, t.shape(), "shape is ne reversed");
        assertEquals(c.nBytes(), t.data().byteSize());
        byte[] head = t.data().asSlice(0, c.raw().length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        assertArrayEquals(c.raw(), head, "tensor slice starts at the raw_hex bytes");

        // row by row, as the engine reads weights
        float[] all = new float[(int) t.numel()];
        for (int r = 0; r < t.rows(); r++) t.readRow(r, all, r * t.cols());
        double sum = 0, sumSq = 0;
        for (float v : all) {
            sum += v;
            sumSq += (double) v * v;
        }
        assertEquals(c.sha256(), DequantChecks.sha256(all), "sha256 of the dequantized float32 data");
        assertEquals(c.sum(), sum, 1e-9 * Math.max(1, Math.abs(c.sumSq())));
        assertEquals(c.sumSq(), sumSq, 1e-9 * c.sumSq());
        assertEquals(c.sha256(), DequantChecks.sha256(t.toFloats()), "toFloats agrees with readRow");
    }

    @Test
    void filesCoverEveryQuantizedType() {
        Set<DType> covered = EnumSet.noneOf(DType.class);
        for (Check c : checks()) covered.add(DType.valueOf(c.ggmlType()));
        for (DType t : DType.values()) {
            if (t.isQuantized() && t != DType.Q8_0) assertTrue(covered.contains(t), t + " has a whole-tensor check");
        }
    }

    /** Every tensor of every kept file has the ggml type and shape that ggml-types.md lists. */
    @ParameterizedTest
    @MethodSource("files")
    void typesAndShapesMatchTheTable(String file) throws IOException {
        Map<String, String> types = typesTable(variant(file));
        Map<String, long[]> nes = neTable();
        Gguf g = Gguf.open(gguf(file));
        assertEquals(3, g.version());
        assertEquals("nemotron", g.getString("general.architecture"));
        assertEquals(2, g.getLong("nemotron.block_count"));
        assertEquals(types.keySet(), g.tensors().keySet().stream().collect(java.util.stream.Collectors.toSet()));
        for (Tensor t : g.tensors().values()) {
            assertEquals(types.get(t.name()), t.dtype().name(), file + " " + t.name());
            long[] ne = nes.get(t.name());
            long[] shape = t.shape();
            assertEquals(ne.length, shape.length);
            for (int i = 0; i < ne.length; i++) assertEquals(ne[i], shape[shape.length - 1 - i], t.name());
        }
    }

    static List<String> files() {
        return FILES;
    }

    @Test
    void ffnUpIsTransposedToPyTorchOrder() {
        Gguf g = Gguf.open(gguf("tiny-k-q3_k_m.gguf"));
        Tensor up = g.tensor("blk.0.ffn_up.weight");
        assertArrayEquals(new long[] {768, 256}, up.shape(), "ne [256, 768] -> shape [768, 256]");
        assertEquals(DType.Q3_K, up.dtype());
        assertArrayEquals(new long[] {256, 768}, g.tensor("blk.0.ffn_down.weight").shape());
        assertEquals(DType.Q4_K, g.tensor("blk.0.ffn_down.weight").dtype());
        assertEquals(DType.Q5_K, g.tensor("blk.0.attn_v.weight").dtype());
        assertEquals(DType.Q6_K, g.tensor("output.weight").dtype());
        assertArrayEquals(new long[] {1000, 256}, g.tensor("output.weight").shape());
    }

    static String variant(String file) {
        return file.substring("tiny-k-".length(), file.length() - ".gguf".length());
    }

    static List<String[]> tableRows() throws IOException {
        List<String[]> rows = new ArrayList<>();
        for (String line : Files.readAllLines(DequantChecks.resource("fixtures/tiny-k/ggml-types.md"))) {
            if (!line.startsWith("|")) continue;
            String[] cells = Arrays.stream(line.split("\\|")).map(String::trim).toArray(String[]::new);
            rows.add(Arrays.copyOfRange(cells, 1, cells.length));
        }
        return rows;
    }

    /** tensor name -> type name for one column of the first table. */
    static Map<String, String> typesTable(String variant) throws IOException {
        List<String[]> rows = tableRows();
        int col = Arrays.asList(rows.get(0)).indexOf(variant);
        assertTrue(col > 0, "column " + variant + " in ggml-types.md");
        Map<String, String> out = new LinkedHashMap<>();
        for (String[] r : rows) {
            if (r[0].contains(".weight [") || r[0].contains(".bias [")) out.put(r[0].substring(0, r[0].indexOf(' ')), r[col]);
        }
        assertEquals(24, out.size());
        return out;
    }

    /** tensor name -> ggml ne from the first column ("output.weight [256, 1000]"). */
    static Map<String, long[]> neTable() throws IOException {
        Map<String, long[]> out = new HashMap<>();
        for (String[] r : tableRows()) {
            int b = r[0].indexOf(" [");
            if (b < 0) continue;
            String[] dims = r[0].substring(b + 2, r[0].length() - 1).split(",\\s*");
            out.put(r[0].substring(0, b), Arrays.stream(dims).mapToLong(Long::parseLong).toArray());
        }
        return out;
    }
}
