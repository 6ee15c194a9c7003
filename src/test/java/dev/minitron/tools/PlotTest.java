package dev.minitron.tools;

import dev.minitron.cli.Main;
import dev.minitron.io.ModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code minitron plot}: valid PNGs and a summary from a bench CSV; one-line errors for bad input. */
class PlotTest {
    static final String HEADER = "model,dtype,backend,device,threads,test,tokens_per_s,tokens_per_s_min,tokens_per_s_max,"
            + "bytes_per_token,bandwidth_gb_s,floor_tokens_per_s,floor_fraction,gflops";

    /** 2 models x 2 thread counts x (pp, tg), the device quoted with a comma inside as bench --csv may write it. */
    static Path csv(Path dir) throws IOException {
        String dev = "\"CPU (Test CPU, 2 cores)\"";
        List<String> lines = List.of(HEADER,
                "minitron-4b-q8_0.gguf,Q8_0,java," + dev + ",1,pp8,20.500,19.000,21.000,4450000000,10.00,17.978,1.1403,180.00",
                "minitron-4b-q8_0.gguf,Q8_0,java," + dev + ",1,tg4,1.500,1.400,1.600,4450000000,10.00,2.247,0.6675,12.00",
                "minitron-4b-q8_0.gguf,Q8_0,java," + dev + ",2,pp8,38.000,37.000,39.000,4450000000,15.00,26.966,1.4092,330.00",
                "minitron-4b-q8_0.gguf,Q8_0,java," + dev + ",2,tg4,2.400,2.300,2.500,4450000000,15.00,3.371,0.7120,20.00",
                "minitron-8b-bf16.gguf,BF16,java," + dev + ",1,pp8,6.000,5.800,6.200,16500000000,10.00,4.848,1.2375,95.00",
                "minitron-8b-bf16.gguf,BF16,java," + dev + ",1,tg4,0.450,0.440,0.460,16500000000,10.00,0.606,0.7425,7.10",
                "minitron-8b-bf16.gguf,BF16,java," + dev + ",2,pp8,11.000,10.500,11.500,16500000000,15.00,7.273,1.5125,170.00",
                "minitron-8b-bf16.gguf,BF16,java," + dev + ",2,tg4,0.700,0.690,0.710,16500000000,15.00,0.909,0.7700,11.00");
        Path p = dir.resolve("bench.csv");
        Files.write(p, lines);
        return p;
    }

    @Test
    void writesValidPngsAndSummary(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("plots");
        List<Path> files = Plot.run(List.of(csv(dir)), out);
        List<String> names = files.stream().map(f -> f.getFileName().toString()).toList();
        assertEquals(List.of(Plot.DECODE_TPS, Plot.DECODE_FLOOR, Plot.PREFILL_TPS, Plot.DECODE_BEST, Plot.TABLE), names);
        for (Path f : files) {
            assertTrue(Files.isRegularFile(f) && Files.size(f) > 0, f + " written");
            if (!f.toString().endsWith(".png")) continue;
            BufferedImage img = ImageIO.read(f.toFile());
            assertNotNull(img, f + " is a PNG that ImageIO can read");
            assertTrue(img.getWidth() > 0 && img.getHeight() > 0, f + " has a size");
        }
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(5, s.count(), "no temporary files left behind");
        }
        String table = Files.readString(out.resolve(Plot.TABLE));
        assertTrue(table.contains("CPU (Test CPU, 2 cores)"), table);
        assertTrue(table.contains("| minitron-4b-q8_0.gguf | Q8_0 | java | 4.450 | 2.40 (2) | 3.37 | 71.2% | 38.00 (2) |"), table);
        assertTrue(table.contains("| minitron-8b-bf16.gguf | BF16 | java | 16.500 | 0.70 (2) | 0.91 | 77.0% | 11.00 (2) |"), table);

        // again into the same folder: files are replaced, nothing else appears
        assertEquals(files, Plot.run(List.of(csv(dir)), out));
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(5, s.count());
        }
    }

    @Test
    void readsQuotedFieldsAndSkipsRepeatedHeaders(@TempDir Path dir) throws IOException {
        Path p = csv(dir);
        Files.writeString(p, Files.readString(p) + HEADER + "\n"
                + "m.gguf,Q4_0,java,\"GPU \"\"X\"\", 1 device\",1,tg4,3.0,3.0,3.0,100,1.0,10.0,0.3,1.0\n");
        List<Plot.Row> rows = Plot.read(p);
        assertEquals(9, rows.size());
        assertEquals("CPU (Test CPU, 2 cores)", rows.get(0).device());
        assertEquals("GPU \"X\", 1 device", rows.get(8).device());
        assertEquals(0.3, rows.get(8).floorFraction());
    }

    @Test
    void missingColumnIsNamed(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("bad.csv");
        Files.write(p, List.of("model,dtype,backend,device,threads,test,tokens_per_s,floor_tokens_per_s",
                "m.gguf,Q8_0,java,\"CPU\",1,tg4,1.0,2.0"));
        ModelException e = assertThrows(ModelException.class, () -> Plot.run(List.of(p), dir.resolve("out")));
        assertTrue(e.getMessage().contains("missing column floor_fraction"), e.getMessage());
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void badNumberNamesLineAndColumn(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("bad.csv");
        Files.write(p, List.of(HEADER, "m.gguf,Q8_0,java,\"CPU\",1,tg4,fast,1,1,100,1.0,2.0,0.5,1.0"));
        ModelException e = assertThrows(ModelException.class, () -> Plot.read(p));
        assertTrue(e.getMessage().contains(p + ":2: column tokens_per_s is 'fast'"), e.getMessage());
    }

    @Test
    void cliPrintsPathsAndReportsBadInputOnOneLine(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("o");
        StringWriter so = new StringWriter(), se = new StringWriter();
        int code = Main.run(new String[] {"plot", "--csv", csv(dir).toString(), "--out", out.toString()},
                new PrintWriter(so, true), new PrintWriter(se, true));
        assertEquals(0, code, se.toString());
        List<String> printed = so.toString().lines().toList();
        assertEquals(5, printed.size(), so.toString());
        for (String f : printed) assertTrue(Files.isRegularFile(Path.of(f)), f);

        so = new StringWriter();
        se = new StringWriter();
        Path missing = dir.resolve("nope.csv");
        code = Main.run(new String[] {"plot", "--csv", missing.toString(), "--out", out.toString()},
                new PrintWriter(so, true), new PrintWriter(se, true));
        assertEquals(1, code);
        assertEquals("error: " + missing + ": no such file", se.toString().strip());
        assertEquals("", so.toString());
    }
}
