package dev.minitron.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The model references: prompt tokens (BOS added per prompt's add_bos) and the text of the greedy
 * continuations, for tiny-a (vocab 1000) and the demo model (vocab 2048).
 */
class GoldenTest {
    @Test
    void tinyAPromptTokensFromHfFolder() {
        checkPromptTokens(Tokenizer.fromHfFolder(Fixtures.TINY_A_HF), Fixtures.TINY_A.resolve("golden.json"));
    }

    @Test
    void tinyAPromptTokensFromGguf() {
        checkPromptTokens(Tokenizer.fromGguf(dev.minitron.io.Gguf.open(Fixtures.TINY_A_GGUF).metadata()),
                Fixtures.TINY_A.resolve("golden.json"));
    }

    @Test
    void tinyAPromptsMatchPromptsJson() {
        JsonNode prompts = Fixtures.json(Fixtures.PROMPTS);
        JsonNode golden = Fixtures.json(Fixtures.TINY_A.resolve("golden.json")).get("prompts");
        assertEquals(7, golden.size());
        for (int i = 0; i < prompts.size(); i++) {
            assertEquals(prompts.get(i).get("text").asText(), golden.get(i).get("text").asText());
            assertEquals(prompts.get(i).get("add_bos").asBoolean(), golden.get(i).get("add_bos").asBoolean());
        }
        // prompt 5 is the one without BOS, prompt 6 the empty one (BOS only)
        assertEquals(false, prompts.get(5).get("add_bos").asBoolean());
        assertArrayEquals(new int[] {2}, Fixtures.ints(golden.get(6).get("tokens")));
    }

    @Test
    void demoPromptTokensFromHfFolder() {
        checkPromptTokens(Tokenizer.fromHfFolder(Fixtures.DEMO), Fixtures.DEMO.resolve("golden.json"));
    }

    @Test
    void demoSourcesAgree() {
        Tokenizer spm = Tokenizer.fromSentencePiece(Fixtures.DEMO.resolve("tokenizer.model"));
        Tokenizer json = Tokenizer.fromTokenizerJson(Fixtures.DEMO.resolve("tokenizer.json"));
        assertEquals(2048, spm.vocabSize());
        JsonNode golden = Fixtures.json(Fixtures.DEMO.resolve("golden.json")).get("prompts");
        for (JsonNode prompt : golden) {
            for (String text : List.of(prompt.get("text").asText(), prompt.get("greedy_text").asText())) {
                assertArrayEquals(spm.encode(text), json.encode(text), text);
            }
        }
    }

    @Test
    void tinyAGreedyTextIsDecodeOfGreedyTokens() {
        Path golden = Fixtures.TINY_A.resolve("golden.json");
        checkGreedyText(Tokenizer.fromHfFolder(Fixtures.TINY_A_HF), golden);
        checkGreedyText(Tokenizer.fromTokenizerJson(Fixtures.TOKENIZER_JSON), golden);
        checkGreedyText(Tokenizer.fromGguf(dev.minitron.io.Gguf.open(Fixtures.TINY_A_GGUF).metadata()), golden);
    }

    @Test
    void demoGreedyTextIsDecodeOfGreedyTokens() {
        Path golden = Fixtures.DEMO.resolve("golden.json");
        checkGreedyText(Tokenizer.fromHfFolder(Fixtures.DEMO), golden);
        checkGreedyText(Tokenizer.fromTokenizerJson(Fixtures.DEMO.resolve("tokenizer.json")), golden);
    }

    /** The references exercise the conventions: a stripped leading space, the unknown surface, U+FFFD. */
    @Test
    void greedyTextConventions() {
        Tokenizer t = Tokenizer.fromHfFolder(Fixtures.TINY_A_HF);
        JsonNode prompts = Fixtures.json(Fixtures.TINY_A.resolve("golden.json")).get("prompts");
        int[] greedy1 = Fixtures.ints(prompts.get(1).get("greedy_tokens"));
        assertEquals("\u2581The", t.piece(greedy1[0]));
        assertTrue(prompts.get(1).get("greedy_text").asText().startsWith("The"), "dummy-prefix space stripped");
        int[] greedy0 = Fixtures.ints(prompts.get(0).get("greedy_tokens"));
        assertEquals(1, greedy0[13], "prompt 0 generates the unknown token");
        assertTrue(t.decode(greedy0).contains("modification \u2047 meram"), "unknown token decodes to ' \u2047 '");
        assertTrue(t.decode(greedy1).contains("\uFFFD"), "broken byte sequences decode to U+FFFD");
        // only the first token's space is stripped
        int the = t.pieceId("\u2581The");
        assertEquals("The The", t.decode(new int[] {the, the}));
        assertEquals("The", t.decode(new int[] {2, the, 3}));
        assertEquals(" The", t.decode(new int[] {t.pieceId("\u2581"), the}));
    }

    private static void checkPromptTokens(Tokenizer tokenizer, Path goldenFile) {
        JsonNode prompts = Fixtures.json(goldenFile).get("prompts");
        assertTrue(prompts.size() >= 6);
        assertTrue(tokenizer.addBos(), "add_bos_token is true in these models");
        for (JsonNode prompt : prompts) {
            String text = prompt.get("text").asText();
            boolean addBos = prompt.get("add_bos").asBoolean();
            int[] expected = Fixtures.ints(prompt.get("tokens"));
            assertArrayEquals(expected, tokenizer.encodeWithSpecials(text, addBos), text);
            assertEquals(text, tokenizer.decode(expected));
        }
    }

    private static void checkGreedyText(Tokenizer tokenizer, Path goldenFile) {
        for (JsonNode prompt : Fixtures.json(goldenFile).get("prompts")) {
            int[] greedy = Fixtures.ints(prompt.get("greedy_tokens"));
            assertEquals(prompt.get("greedy_text").asText(), tokenizer.decode(greedy),
                    tokenizer.source() + ": greedy text of '" + prompt.get("text").asText() + "'");
        }
    }
}
