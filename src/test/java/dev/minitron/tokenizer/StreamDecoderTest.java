package dev.minitron.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pushing ids one at a time gives decode's text, in pieces that never end inside a character. */
class StreamDecoderTest {
    private final Tokenizer tokenizer = Tokenizer.fromSentencePiece(Fixtures.SPM_MODEL);

    @Test
    void streamingEveryReferenceCaseEqualsDecode() {
        int splitCharacters = 0;
        for (JsonNode c : Fixtures.json(Fixtures.CASES)) {
            int[] ids = Fixtures.ints(c.get("ids"));
            List<String> chunks = stream(ids, true);
            assertEquals(tokenizer.decode(ids), String.join("", chunks), c.get("text").asText());
            for (String chunk : chunks) assertWholeCharacters(chunk);
            if (countByteTokens(ids) > 1) splitCharacters++;
        }
        assertTrue(splitCharacters > 50, "cases with multi-byte fallback sequences: " + splitCharacters);
    }

    @Test
    void emojiBytesAreHeldBackUntilComplete() {
        int[] ids = tokenizer.encode("🙂");
        // "▁" then the four bytes F0 9F 99 82
        assertEquals(5, ids.length);
        StreamDecoder decoder = tokenizer.streamDecoder(false);
        assertEquals(" ", decoder.push(ids[0]));
        assertEquals("", decoder.push(ids[1]));
        assertEquals("", decoder.push(ids[2]));
        assertEquals("", decoder.push(ids[3]));
        assertEquals("🙂", decoder.push(ids[4]));
        assertEquals("", decoder.flush());
    }

    @Test
    void cjkSplitAcrossByteTokens() {
        String text = "日本語 🙂 café";
        int[] ids = tokenizer.encode(text);
        List<String> chunks = stream(ids, true);
        assertEquals(text, String.join("", chunks));
        chunks.forEach(StreamDecoderTest::assertWholeCharacters);
    }

    @Test
    void incompleteSequenceIsFlushedAsReplacement() {
        int e2 = tokenizer.pieceId("<0xE2>");
        int x82 = tokenizer.pieceId("<0x82>");
        int a = tokenizer.pieceId("a");
        StreamDecoder decoder = tokenizer.streamDecoder(true);
        assertEquals("", decoder.push(e2));
        assertEquals("", decoder.push(x82));
        assertEquals("\uFFFDa", decoder.push(a), "a truncated sequence is one U+FFFD, then the next text");
        assertEquals("", decoder.push(e2));
        assertEquals("\uFFFD", decoder.flush());
        assertEquals("\uFFFDa\uFFFD", tokenizer.decode(new int[] {e2, x82, a, e2}));
        // a continuation byte that cannot start a character is released at once
        assertEquals("\uFFFD", tokenizer.streamDecoder(true).push(x82));
    }

    @Test
    void leadingSpaceOnlyStrippedWhenAsked() {
        int[] ids = tokenizer.encode("Hello world");
        assertEquals("Hello world", String.join("", stream(ids, true)));
        assertEquals(" Hello world", String.join("", stream(ids, false)));
        assertEquals("", tokenizer.streamDecoder(true).push(tokenizer.bosId()));
    }

    private List<String> stream(int[] ids, boolean strip) {
        StreamDecoder decoder = tokenizer.streamDecoder(strip);
        List<String> chunks = new ArrayList<>();
        for (int id : ids) chunks.add(decoder.push(id));
        chunks.add(decoder.flush());
        return chunks;
    }

    private int countByteTokens(int[] ids) {
        int n = 0;
        for (int id : ids) if (tokenizer.tokenType(id) == TokenType.BYTE) n++;
        return n;
    }

    private static void assertWholeCharacters(String chunk) {
        if (chunk.isEmpty()) return;
        assertFalse(Character.isHighSurrogate(chunk.charAt(chunk.length() - 1)), "chunk ends in a high surrogate");
        assertFalse(Character.isLowSurrogate(chunk.charAt(0)), "chunk starts with a low surrogate");
    }
}
