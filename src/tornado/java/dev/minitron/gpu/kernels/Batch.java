package dev.minitron.gpu.kernels;

/**
 * Layout of the small {@code IntArray} that carries one forward call onto the device: where it starts, how many
 * tokens it holds, how many of its last rows need logits, and the token ids. It is the only input that changes
 * from call to call (a few dozen bytes); every kernel reads the values it needs from it, so the compiled kernels
 * never change.
 */
public final class Batch {
    private Batch() {}

    /** Position of the first token of this call. */
    public static final int POS = 0;
    /** Tokens in this call ({@code T}: 1 when decoding, up to the chunk size when prefilling). */
    public static final int COUNT = 1;
    /** How many of the last rows get logits (1, or {@code T} when every position's logits are wanted). */
    public static final int OUT_COUNT = 2;
    /** The token ids start here. */
    public static final int TOKENS = 3;

    /** Ints needed for calls of up to {@code maxTokens} tokens. */
    public static int size(int maxTokens) {
        return TOKENS + maxTokens;
    }
}
