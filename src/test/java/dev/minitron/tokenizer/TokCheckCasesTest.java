package dev.minitron.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The 907 reference strings (ASCII, whitespace runs, digits, accents, CJK, emoji, random Unicode) must encode
 * to the ids SentencePiece, llama.cpp and Hugging Face agree on, and decode back to the text, from each of the
 * three tokenizer sources.
 */
class TokCheckCasesTest {
    private static JsonNode cases;

    @BeforeAll
    static void loadCases() {
        cases = Fixtures.json(Fixtures.CASES);
        assertEquals(907, cases.size(), "number of reference cases");
    }

    @Test
    void sentencePieceModelMatchesAllCases() {
        checkAll(Tokenizer.fromSentencePiece(Fixtures.SPM_MODEL));
    }

    @Test
    void tokenizerJsonMatchesAllCases() {
        checkAll(Tokenizer.fromTokenizerJson(Fixtures.TOKENIZER_JSON));
    }

    @Test
    void ggufMetadataMatchesAllCases() {
        checkAll(Tokenizer.fromGguf(dev.minitron.io.Gguf.open(Fixtures.TINY_A_GGUF).metadata()));
    }

    @Test
    void sourcesDescribeTheSameVocabulary() {
        Tokenizer spm = Tokenizer.fromSentencePiece(Fixtures.SPM_MODEL);
        Tokenizer json = Tokenizer.fromTokenizerJson(Fixtures.TOKENIZER_JSON);
        Tokenizer gguf = Tokenizer.fromGguf(dev.minitron.io.Gguf.open(Fixtures.TINY_A_GGUF).metadata());
        assertEquals(1000, spm.vocabSize());
        for (Tokenizer t : List.of(json, gguf)) {
            assertEquals(spm.vocabSize(), t.vocabSize());
            for (int id = 0; id < spm.vocabSize(); id++) {
                assertEquals(spm.piece(id), t.piece(id), "piece " + id);
                assertEquals(spm.tokenType(id), t.tokenType(id), "type of " + spm.piece(id));
            }
            assertEquals(2, t.bosId());
            assertEquals(3, t.eosId());
            assertEquals(1, t.unkId());
            assertTrue(t.addBos());
        }
        assertEquals(TokenType.UNKNOWN, spm.tokenType(1));
        assertEquals(TokenType.CONTROL, spm.tokenType(2));
        assertEquals(TokenType.BYTE, spm.tokenType(4));
        assertEquals("<0x00>", spm.piece(4));
        assertEquals(TokenType.NORMAL, spm.tokenType(260));
        assertEquals(spm.score(500), gguf.score(500));
    }

    private static void checkAll(Tokenizer tokenizer) {
        List<String> failures = new ArrayList<>();
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] expected = Fixtures.ints(c.get("ids"));
            int[] actual = tokenizer.encode(text);
            if (!Arrays.equals(expected, actual)) {
                failures.add("encode " + quote(text) + ": expected " + Arrays.toString(expected) + " got "
                        + Arrays.toString(actual));
            }
            String decoded = tokenizer.decode(expected);
            if (!decoded.equals(text)) failures.add("decode " + quote(text) + " gave " + quote(decoded));
        }
        assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())),
                failures.size() + " of " + cases.size() + " cases failed for " + tokenizer.source());
    }

    private static String quote(String s) {
        return "\"" + s.replace("\n", "\\n").replace("\t", "\\t") + "\"";
    }
}
