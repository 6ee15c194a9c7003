package dev.minitron.tokenizer;

/**
 * SentencePiece's text normalization for identity-normalized models: optionally collapse runs of spaces
 * and trim them ({@code remove_extra_whitespaces}), replace each space U+0020 by the meta symbol "▁" U+2581
 * ({@code escape_whitespaces}) and prepend one "▁" to non-empty text ({@code add_dummy_prefix}).
 * Hugging Face's Prepend("▁") + Replace(" ", "▁") normalizers and llama.cpp's SPM path compute the same.
 */
record Normalizer(boolean addDummyPrefix, boolean removeExtraWhitespaces, boolean escapeWhitespaces) {
    static final char SPACE_SYMBOL = '\u2581';

    String normalize(String text) {
        String t = removeExtraWhitespaces ? collapseSpaces(text) : text;
        if (t.isEmpty()) return t;
        if (addDummyPrefix) t = " " + t;
        return escapeWhitespaces ? t.replace(' ', SPACE_SYMBOL) : t;
    }

    /** The text a piece stands for: "▁" back to a space when spaces were escaped. */
    String denormalize(String piece) {
        return escapeWhitespaces ? piece.replace(SPACE_SYMBOL, ' ') : piece;
    }

    private static String collapseSpaces(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        boolean pendingSpace = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ' ') {
                pendingSpace = sb.length() > 0;
            } else {
                if (pendingSpace) sb.append(' ');
                pendingSpace = false;
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
