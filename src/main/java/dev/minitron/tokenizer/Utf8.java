package dev.minitron.tokenizer;

/**
 * UTF-8 decoding of byte-fallback runs. Malformed input becomes U+FFFD, one per maximal subpart of an
 * ill-formed sequence (the Unicode recommended practice, also Python's {@code errors="replace"}): a valid
 * but truncated prefix such as {@code E2 82} gives one U+FFFD, a stray continuation byte gives one each.
 */
final class Utf8 {
    private Utf8() {}

    /** Decodes {@code len} bytes starting at {@code off}, replacing ill-formed subparts with U+FFFD. */
    static String decode(byte[] bytes, int off, int len) {
        StringBuilder sb = new StringBuilder(len);
        int i = off;
        int end = off + len;
        while (i < end) {
            int lead = bytes[i] & 0xFF;
            if (lead < 0x80) {
                sb.append((char) lead);
                i++;
                continue;
            }
            int need = sequenceLength(lead);
            if (need == 0) {
                sb.append('\uFFFD');
                i++;
                continue;
            }
            int cp = lead & (0xFF >> (need + 1));
            int j = i + 1;
            while (j < end && j - i < need && isValidContinuation(lead, j - i, bytes[j] & 0xFF)) {
                cp = (cp << 6) | (bytes[j] & 0x3F);
                j++;
            }
            if (j - i == need) {
                sb.appendCodePoint(cp);
            } else {
                sb.append('\uFFFD');
            }
            i = j;
        }
        return sb.toString();
    }

    /**
     * Length of the trailing bytes of {@code bytes[0..len)} that form a valid but incomplete sequence, i.e. bytes
     * that a later byte could still complete into a character; 0 when the buffer ends on a boundary or with
     * ill-formed bytes (which no later byte can repair).
     */
    static int incompleteTail(byte[] bytes, int len) {
        for (int k = 1; k <= Math.min(3, len); k++) {
            int b = bytes[len - k] & 0xFF;
            if ((b & 0xC0) == 0x80) continue;
            int need = sequenceLength(b);
            if (need <= k) return 0;
            for (int m = 1; m < k; m++) {
                if (!isValidContinuation(b, m, bytes[len - k + m] & 0xFF)) return 0;
            }
            return k;
        }
        return 0;
    }

    /** Total length of the sequence a lead byte starts, or 0 when it can never start a well-formed one. */
    private static int sequenceLength(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) return 2;
        if (lead >= 0xE0 && lead <= 0xEF) return 3;
        if (lead >= 0xF0 && lead <= 0xF4) return 4;
        return 0;
    }

    /** Whether {@code b} may stand at position {@code index} (1..3) of a sequence led by {@code lead}. */
    private static boolean isValidContinuation(int lead, int index, int b) {
        if (index == 1) {
            if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
            if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
            if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
            if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
        }
        return b >= 0x80 && b <= 0xBF;
    }
}
