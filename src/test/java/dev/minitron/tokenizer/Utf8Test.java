package dev.minitron.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** UTF-8 decoding with one U+FFFD per maximal ill-formed subpart, and detection of unfinished characters. */
class Utf8Test {
    private static String decode(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) bytes[i] = (byte) values[i];
        return Utf8.decode(bytes, 0, bytes.length);
    }

    private static int tail(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) bytes[i] = (byte) values[i];
        return Utf8.incompleteTail(bytes, bytes.length);
    }

    @Test
    void decodesWellFormedSequences() {
        assertEquals("A€🙂日", decode(0x41, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x99, 0x82, 0xE6, 0x97, 0xA5));
    }

    @Test
    void replacesMaximalSubparts() {
        assertEquals("\uFFFD", decode(0xE2, 0x82), "truncated 3-byte sequence");
        assertEquals("\uFFFDA", decode(0xE2, 0x82, 0x41));
        assertEquals("\uFFFD\uFFFD", decode(0x80, 0xBF), "lone continuation bytes");
        assertEquals("\uFFFD\uFFFD\uFFFD", decode(0xED, 0xA0, 0x80), "encoded surrogate");
        assertEquals("\uFFFD\uFFFD", decode(0xC0, 0x80), "overlong");
        assertEquals("\uFFFD\uFFFD", decode(0xF5, 0x80), "F5 can never start a character");
        assertEquals("\uFFFD🙂", decode(0xF0, 0x9F, 0xF0, 0x9F, 0x99, 0x82));
    }

    @Test
    void findsUnfinishedCharacters() {
        assertEquals(0, tail(0x41));
        assertEquals(1, tail(0x41, 0xC3));
        assertEquals(2, tail(0xF0, 0x9F));
        assertEquals(3, tail(0xF0, 0x9F, 0x99));
        assertEquals(0, tail(0xF0, 0x9F, 0x99, 0x82));
        assertEquals(0, tail(0xED, 0xA0), "ED A0 can never be completed");
        assertEquals(0, tail(0x80));
        assertEquals(0, tail(0xE2, 0x82, 0xAC));
    }
}
