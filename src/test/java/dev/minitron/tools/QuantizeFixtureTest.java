package dev.minitron.tools;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Quantize;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** Our Q8_0 of the tiny-a fixture's F32 weights against the Q8_0 file llama.cpp's converter wrote from them. */
class QuantizeFixtureTest {
    private static final Path DIR = Path.of("src/test/resources/fixtures/tiny-a/gguf");

    @Test
    void q8_0MatchesLlamaCppConverter() throws Exception {
        MiniGguf f32 = new MiniGguf(DIR.resolve("tiny-a-f32.gguf"));
        MiniGguf q8 = new MiniGguf(DIR.resolve("tiny-a-q8_0.gguf"));
        int checked = 0, mismatched = 0;
        for (MiniGguf.Info t : q8.tensors) {
            if (t.type() != DType.Q8_0.ggmlId()) continue;
            float[] x = f32.f32(t.name());
            byte[] ours = Quantize.encode(DType.Q8_0, x);
            byte[] theirs = q8.bytes(t.name(), ours.length);
            for (int i = 0; i < ours.length; i++) if (ours[i] != theirs[i]) mismatched++;
            checked += ours.length;
        }
        assertTrue(checked > 100_000, "checked " + checked);
        assertEquals(0, mismatched, mismatched + " of " + checked + " bytes differ");
    }
}
