package dev.minitron.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which file a Hugging Face folder's tokenizer comes from, and where BOS/EOS and add-BOS/EOS come from. */
class HfFolderTest {
    @TempDir
    Path dir;

    @Test
    void tinyAFolder() {
        Tokenizer t = Tokenizer.fromHfFolder(Fixtures.TINY_A_HF);
        assertTrue(t.source().endsWith("tokenizer.model"), t.source());
        assertEquals(2, t.bosId());
        assertEquals(3, t.eosId());
        assertTrue(t.addBos());
        assertFalse(t.addEos());
    }

    @Test
    void tokenizerJsonOnlyFolderGivesTheSameIds() throws IOException {
        Files.copy(Fixtures.TINY_A_HF.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Tokenizer json = Tokenizer.fromHfFolder(dir);
        Tokenizer model = Tokenizer.fromHfFolder(Fixtures.TINY_A_HF);
        assertTrue(json.source().endsWith("tokenizer.json"), json.source());
        String text = "naïve café — 日本語 🙂  leading spaces and\ttabs\nnew line";
        assertArrayEquals(model.encodeWithSpecials(text, true), json.encodeWithSpecials(text, json.addBos()));
    }

    @Test
    void configDisablingBosAndNamingTokensAsObjects() throws IOException {
        Files.copy(Fixtures.SPM_MODEL, dir.resolve("tokenizer.model"));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"add_bos_token": false, "add_eos_token": true,
                 "bos_token": {"content": "</s>", "lstrip": false}, "eos_token": "<pad>"}""");
        Tokenizer t = Tokenizer.fromHfFolder(dir);
        assertFalse(t.addBos());
        assertTrue(t.addEos());
        assertEquals(3, t.bosId());
        assertEquals(0, t.eosId());
    }

    @Test
    void specialTokensMapIsUsedWhenTheConfigIsSilent() throws IOException {
        Files.copy(Fixtures.SPM_MODEL, dir.resolve("tokenizer.model"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"bos_token\": \"<unk>\"}");
        Tokenizer t = Tokenizer.fromHfFolder(dir);
        assertEquals(1, t.bosId());
        assertEquals(3, t.eosId(), "the model's own eos_id");
        assertTrue(t.addBos(), "tokenizer.model default");
    }

    @Test
    void configJsonAndNemotronDefaultsWhenTheTokenizerHasNoSpecials() throws IOException {
        // a tokenizer.json without a post-processor and without <s> / </s> pieces names no BOS / EOS
        String json = Files.readString(Fixtures.TOKENIZER_JSON)
                .replace("\"<s>\"", "\"<bos>\"").replace("\"</s>\"", "\"<eos>\"")
                .replaceFirst("\"post_processor\": \\{", "\"post_processor\": null, \"unused\": {");
        Files.writeString(dir.resolve("tokenizer.json"), json);
        Tokenizer bare = Tokenizer.fromTokenizerJson(dir.resolve("tokenizer.json"));
        assertEquals(-1, bare.bosId());
        assertFalse(bare.addBos());
        assertEquals(2, Tokenizer.fromHfFolder(dir).bosId(), "Nemotron default");
        Files.writeString(dir.resolve("config.json"), "{\"bos_token_id\": 0, \"eos_token_id\": [1, 3]}");
        Tokenizer t = Tokenizer.fromHfFolder(dir);
        assertEquals(0, t.bosId());
        assertEquals(1, t.eosId());
    }
}
