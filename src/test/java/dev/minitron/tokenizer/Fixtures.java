package dev.minitron.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Paths of the tokenizer fixtures (relative to the project root, Maven's working directory) and JSON helpers. */
final class Fixtures {
    static final Path TOKENIZER_DIR = Path.of("src/test/resources/fixtures/tokenizer");
    static final Path SPM_MODEL = TOKENIZER_DIR.resolve("nemotron-tiny-spm.model");
    static final Path TOKENIZER_JSON = TOKENIZER_DIR.resolve("tokenizer.json");
    static final Path CASES = TOKENIZER_DIR.resolve("tokcheck-cases.json");
    static final Path TINY_A = Path.of("src/test/resources/fixtures/tiny-a");
    static final Path TINY_A_HF = TINY_A.resolve("hf-fp32");
    static final Path TINY_A_GGUF = TINY_A.resolve("gguf/tiny-a-f32.gguf");
    static final Path PROMPTS = Path.of("src/test/resources/fixtures/prompts.json");
    static final Path DEMO = Path.of("weights/demo");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Fixtures() {}

    static JsonNode json(Path file) {
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode array) {
        int[] result = new int[array.size()];
        for (int i = 0; i < result.length; i++) result[i] = array.get(i).asInt();
        return result;
    }
}
