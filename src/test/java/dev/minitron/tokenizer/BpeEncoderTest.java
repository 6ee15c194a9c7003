package dev.minitron.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** BPE details that the reference cases do not reach, on small hand-made vocabularies. */
class BpeEncoderTest {
    /** A tokenizer over the given pieces (scores as given), no dummy prefix, byte fallback as asked. */
    private static Tokenizer tokenizer(String[] pieces, float[] scores, int[] types, boolean byteFallback) {
        Vocabulary vocab = new Vocabulary("test", pieces, scores, types);
        return new Tokenizer("test", vocab, new Normalizer(false, false, true), new ScoreMergeRule(vocab),
                byteFallback, false, false, " \u2047 ", new Tokenizer.Specials(0, 1, 2, true, false));
    }

    @Test
    void highestScoreMergesFirstAndLeftmostOnTies() {
        Tokenizer t = tokenizer(new String[] {"<unk>", "<s>", "</s>", "a", "b", "aa", "ab"},
                new float[] {0, 0, 0, -10, -10, -2, -1}, new int[] {2, 3, 3, 1, 1, 1, 1}, false);
        assertArrayEquals(new int[] {5, 3}, t.encode("aaa"), "aa + a: leftmost of two equal pairs");
        assertArrayEquals(new int[] {3, 6}, t.encode("aab"), "a + ab: ab scores higher than aa");
        assertArrayEquals(new int[] {5, 5}, t.encode("aaaa"));
    }

    @Test
    void unusedPieceIsSplitBackUnlessMergedFurther() {
        String[] pieces = {"<unk>", "<s>", "</s>", "a", "b", "c", "ab", "abc"};
        int[] types = {2, 3, 3, 1, 1, 1, TokenType.UNUSED, 1};
        Tokenizer t = tokenizer(pieces, new float[] {0, 0, 0, -10, -10, -10, -1, -2}, types, false);
        assertArrayEquals(new int[] {3, 4}, t.encode("ab"), "unused 'ab' is emitted as a + b");
        assertArrayEquals(new int[] {7}, t.encode("abc"), "but it can still merge into 'abc'");
    }

    @Test
    void userDefinedSymbolsAreKeptWhole() {
        String[] pieces = {"<unk>", "<s>", "</s>", "a", "b", "ab", "<t>", "<"};
        int[] types = {2, 3, 3, 1, 1, 1, TokenType.USER_DEFINED, 1};
        Tokenizer t = tokenizer(pieces, new float[] {0, 0, 0, -10, -10, -1, 0, -10}, types, false);
        assertArrayEquals(new int[] {3, 6, 4}, t.encode("a<t>b"), "<t> is one symbol and blocks a+b");
        assertArrayEquals(new int[] {5, 7}, t.encode("ab<"));
    }

    @Test
    void unknownCharactersWithoutByteFallbackFuseIntoOneUnk() {
        Tokenizer t = tokenizer(new String[] {"<unk>", "<s>", "</s>", "a"}, new float[4], new int[] {2, 3, 3, 1}, false);
        assertArrayEquals(new int[] {3, 0, 3, 0}, t.encode("axyzaé"));
        assertEquals("a \u2047 a \u2047 ", t.decode(t.encode("axyzaé")));
    }

    @Test
    void controlPiecesInTextAreNotSpecial() {
        Tokenizer t = Tokenizer.fromSentencePiece(Fixtures.SPM_MODEL);
        int[] ids = t.encode("<s>");
        for (int id : ids) assertEquals(false, t.tokenType(id) == TokenType.CONTROL, "id " + id);
        assertEquals("<s>", t.decode(ids));
    }

    @Test
    void emptyAndSpaceOnlyText() {
        Tokenizer t = Tokenizer.fromSentencePiece(Fixtures.SPM_MODEL);
        assertArrayEquals(new int[0], t.encode(""));
        assertArrayEquals(new int[] {2}, t.encodeWithSpecials("", true));
        assertArrayEquals(new int[] {2, 3}, t.encodeWithSpecials("", true, true));
        assertEquals(" ", t.decode(t.encode(" ")));
        assertEquals("   ", t.decode(t.encode("   ")));
    }

    @Test
    void longInputIsFastAndRoundTrips() throws Exception {
        Tokenizer t = Tokenizer.fromSentencePiece(Fixtures.SPM_MODEL);
        String corpus = Files.readString(Path.of("src/test/resources/fixtures/tiny-a/golden.json")).substring(0, 20_000);
        String text = corpus.repeat(15); // 300k chars: an O(n^2) BPE would take minutes
        int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> t.encode(text));
        assertEquals(text, t.decode(ids));
        // plausible length: fewer tokens than chars, more than one token per 8 chars on this small vocab
        assertEquals(true, ids.length > text.length() / 8 && ids.length < text.length(), "tokens: " + ids.length);
    }

    @Test
    void hfMergeRanksAndScoresAgreeOnTheWholeVocabulary() {
        // every piece of the vocabulary, spelled out, encodes to itself from both rules
        Tokenizer spm = Tokenizer.fromSentencePiece(Fixtures.SPM_MODEL);
        Tokenizer json = Tokenizer.fromTokenizerJson(Fixtures.TOKENIZER_JSON);
        for (int id = 0; id < spm.vocabSize(); id++) {
            if (spm.tokenType(id) != TokenType.NORMAL) continue;
            String text = spm.piece(id).replace('\u2581', ' ');
            assertArrayEquals(spm.encode(text), json.encode(text), spm.piece(id));
        }
        assertEquals(0f, json.score(4), "byte pieces have no merge");
        assertEquals(-1f, json.score(json.pieceId("\u2581\u2581")), "second merge");
    }
}
