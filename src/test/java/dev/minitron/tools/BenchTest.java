package dev.minitron.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.Fixtures;
import dev.minitron.cli.Main;
import dev.minitron.io.ModelLoader;
import dev.minitron.model.Model;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code minitron bench} on a tiny model: valid JSON and CSV, positive finite numbers, floor from the real bytes. */
class BenchTest {

    static String[] run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, err.toString());
        return new String[]{out.toString(), err.toString()};
    }

    @Test
    void jsonRowsAreCompleteAndConsistent() throws Exception {
        String model = Fixtures.path("tiny-a/hf-bf16").toString();
        JsonNode root = new ObjectMapper().readTree(run("bench", "-m", model, "-p", "8", "-n", "4", "-r", "2", "-t", "1,2", "--json")[0]);
        assertTrue(root.path("machine").path("cores").asInt() >= 1);
        JsonNode rows = root.get("rows");
        assertEquals(4, rows.size(), "pp and tg for two thread counts");
        Model m = ModelLoader.load(Fixtures.path("tiny-a/hf-bf16"));
        long bytes = m.weights().bytesPerToken();
        // embedding row + lm_head + 3 layers of q,k,v,o,up,down in bf16: (64 + 1000*64 + 3*(4096+2048+2048+4096+2*16384)) * 2
        assertEquals((64 + 1000 * 64 + 3 * (4096 + 2048 + 2048 + 4096 + 2 * 16384)) * 2L, bytes);
        for (JsonNode r : rows) {
            for (String f : new String[]{"tokens_per_s", "tokens_per_s_min", "tokens_per_s_max", "bandwidth_gb_s",
                    "floor_tokens_per_s", "floor_fraction"}) {
                double v = r.path(f).asDouble(Double.NaN);
                assertTrue(Double.isFinite(v) && v > 0, f + " = " + r.path(f));
            }
            assertEquals(bytes, r.get("bytes_per_token").asLong());
            assertEquals("BF16", r.get("dtype").asText());
            assertEquals("java", r.get("backend").asText());
            assertTrue(r.get("tokens_per_s_min").asDouble() <= r.get("tokens_per_s").asDouble());
            assertTrue(r.get("tokens_per_s").asDouble() <= r.get("tokens_per_s_max").asDouble());
            double bw = r.get("bandwidth_gb_s").asDouble() * 1e9;
            double floor = r.get("test").asText().startsWith("pp") ? bw * 8 / bytes : bw / bytes;
            assertEquals(floor, r.get("floor_tokens_per_s").asDouble(), floor * 1e-9);
            assertEquals(r.get("tokens_per_s").asDouble() / floor, r.get("floor_fraction").asDouble(), 1e-9);
        }
        assertEquals("pp8", rows.get(0).get("test").asText());
        assertEquals("tg4", rows.get(1).get("test").asText());
    }

    @Test
    void csvHasHeaderAndOneLinePerRow() {
        String out = run("bench", "-m", Fixtures.path("tiny-a/gguf/tiny-a-q8_0.gguf").toString(), "-p", "4", "-n", "2", "-r", "1", "-t", "1", "--csv")[0];
        String[] lines = out.strip().split("\n");
        assertEquals(3, lines.length, out);
        assertTrue(lines[0].startsWith("model,dtype,backend,device,threads,test,tokens_per_s"));
        assertTrue(lines[1].contains(",Q8_0,java,") && lines[1].contains(",pp4,"), lines[1]);
        assertTrue(lines[2].contains(",tg2,"), lines[2]);
    }

    /**
     * {@code --matrices}: every weight matrix of a decode step is timed once per pass and counted under its kind; the
     * kinds' bytes add up to the token's bytes less the embedding row, and the table lists them.
     */
    @Test
    void matricesCoverEveryWeightMatrix() throws Exception {
        Model m = ModelLoader.load(Fixtures.path("tiny-a/gguf/tiny-a-q8_0.gguf"));
        java.util.List<Bench.MatrixRow> rows = Bench.matrices(m, 2, 2);
        java.util.Map<String, Integer> perToken = new java.util.TreeMap<>();
        long bytes = 0;
        for (Bench.MatrixRow r : rows) {
            perToken.merge(r.matrix(), r.perToken(), Integer::sum);
            bytes += r.perToken() * dev.minitron.tensor.DType.valueOf(r.dtype()).bytesFor(r.rows() * r.cols());
            assertTrue(Double.isFinite(r.usEach()) && r.usEach() > 0 && r.gbPerS() > 0 && r.msPerToken() > 0, r.toString());
        }
        int layers = m.config().numLayers();
        assertEquals(java.util.Map.of("blk.#.attn_q.weight", layers, "blk.#.attn_k.weight", layers, "blk.#.attn_v.weight",
                layers, "blk.#.attn_output.weight", layers, "blk.#.ffn_up.weight", layers, "blk.#.ffn_down.weight", layers,
                "output.weight", 1), perToken);
        assertEquals(m.weights().bytesPerToken() - m.weights().embed().rowBytes(), bytes);
        String out = run("bench", "-m", Fixtures.path("tiny-a/gguf/tiny-a-q8_0.gguf").toString(), "-p", "0", "-n", "2", "-r", "1",
                "-t", "1", "--matrices")[0];
        assertTrue(out.contains("| blk.#.ffn_down.weight") && out.contains("| output.weight") && out.contains("ms per token"), out);
    }
}
