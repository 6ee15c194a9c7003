package dev.minitron;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Locates the copied fixtures and reads their reference outputs ({@code golden*.json}). */
public final class Fixtures {
    private Fixtures() {}

    public static Path root() {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/README.md").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path path(String rel) {
        return root().resolve(rel);
    }

    /** The embedded demo model folder of the project (weights/demo). */
    public static Path demo() {
        Path p = Path.of("weights/demo").toAbsolutePath();
        if (!Files.isDirectory(p)) throw new IllegalStateException("weights/demo not found from " + Path.of("").toAbsolutePath());
        return p;
    }

    /** One prompt of a golden file. Arrays absent from the file are null. */
    public record Prompt(String text, boolean addBos, int[] tokens, float[] lastLogits, int[] greedyTokens,
                         String greedyText, float[][] stepLogits, float[][] allPromptLogits, float[] margins) {}

    public static List<Prompt> golden(Path file) {
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            List<Prompt> out = new ArrayList<>();
            for (JsonNode p : root.get("prompts")) {
                out.add(new Prompt(p.get("text").asText(), p.path("add_bos").asBoolean(true), ints(p.get("tokens")),
                        floats(p.get("last_logits")), ints(p.get("greedy_tokens")), p.path("greedy_text").asText(null),
                        matrix(p.get("step_logits")), matrix(p.get("all_prompt_logits")),
                        floats(p.get("greedy_top1_top2_margins"))));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode a) {
        if (a == null || a.isNull()) return null;
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    static float[] floats(JsonNode a) {
        if (a == null || a.isNull()) return null;
        float[] r = new float[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = (float) a.get(i).asDouble();
        return r;
    }

    static float[][] matrix(JsonNode a) {
        if (a == null || a.isNull()) return null;
        float[][] r = new float[a.size()][];
        for (int i = 0; i < r.length; i++) r[i] = floats(a.get(i));
        return r;
    }

    public static float maxAbsDiff(float[] a, int aOff, float[] b) {
        float m = 0;
        for (int i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[aOff + i] - b[i]));
        return m;
    }

    public static int argmax(float[] v, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[off + i] > v[off + best]) best = i;
        return best;
    }
}
