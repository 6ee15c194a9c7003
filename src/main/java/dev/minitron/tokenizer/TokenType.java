package dev.minitron.tokenizer;

/**
 * Token type codes shared by all tokenizer sources. The values are those of GGUF's
 * {@code tokenizer.ggml.token_type} array, which are also SentencePiece's {@code ModelProto.SentencePiece.Type}
 * enum values, so a type read from any source can be stored unchanged.
 */
public final class TokenType {
    /** An ordinary piece produced by BPE merges (or a single character). */
    public static final int NORMAL = 1;
    /** The unknown token; decodes to the unknown surface (" \u2047 "). */
    public static final int UNKNOWN = 2;
    /** A control token such as BOS, EOS or padding; decodes to nothing and is never produced by encoding. */
    public static final int CONTROL = 3;
    /** A user-defined symbol: matched as a whole in the input, never split or merged. */
    public static final int USER_DEFINED = 4;
    /** A piece kept in the vocabulary but not emitted by encoding (split back into its parts). */
    public static final int UNUSED = 5;
    /** A byte-fallback piece {@code <0xNN>} standing for one raw UTF-8 byte. */
    public static final int BYTE = 6;

    private TokenType() {}

    /** True for types whose piece text is part of the decoded text (normal, user-defined, unused). */
    static boolean isText(int type) {
        return type == NORMAL || type == USER_DEFINED || type == UNUSED;
    }
}
