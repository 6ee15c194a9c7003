package dev.minitron.tokenizer;

/**
 * Decodes generated tokens one at a time. {@link #push} returns the text completed by each token; byte-fallback
 * pieces that end in the middle of a UTF-8 character are held back until the character is complete (or can
 * no longer be completed), so no returned string ends in half a character. The concatenation of all
 * {@code push} results and {@link #flush()} equals {@link Tokenizer#decode} of the same ids (when created with
 * {@code stripLeadingSpace} true). Not thread-safe: one decoder per generated sequence.
 */
public final class StreamDecoder {
    private final Tokenizer tokenizer;
    private boolean atStart;
    private byte[] pending = new byte[8];
    private int pendingLength;

    StreamDecoder(Tokenizer tokenizer, boolean stripLeadingSpace) {
        this.tokenizer = tokenizer;
        this.atStart = stripLeadingSpace;
    }

    /** Adds one token and returns the text it completes (possibly empty). */
    public String push(int id) {
        int type = tokenizer.tokenType(id);
        if (type == TokenType.BYTE) {
            if (pendingLength == pending.length) pending = java.util.Arrays.copyOf(pending, pendingLength * 2);
            pending[pendingLength++] = (byte) tokenizer.byteValue(id);
            atStart = false;
            return takeComplete();
        }
        String text = tokenizer.surface(id, type, atStart);
        if (type != TokenType.CONTROL) atStart = false;
        String held = flush();
        return held.isEmpty() ? text : held + text;
    }

    /** Returns any held-back bytes (an unfinished character, as U+FFFD) and empties the buffer. */
    public String flush() {
        if (pendingLength == 0) return "";
        String text = Utf8.decode(pending, 0, pendingLength);
        pendingLength = 0;
        return text;
    }

    /** Decodes and removes the pending bytes except a trailing incomplete (but still completable) character. */
    private String takeComplete() {
        int ready = pendingLength - Utf8.incompleteTail(pending, pendingLength);
        if (ready == 0) return "";
        String text = Utf8.decode(pending, 0, ready);
        System.arraycopy(pending, ready, pending, 0, pendingLength - ready);
        pendingLength -= ready;
        return text;
    }
}
