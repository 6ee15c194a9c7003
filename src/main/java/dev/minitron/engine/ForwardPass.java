package dev.minitron.engine;

import dev.minitron.model.Config;

/**
 * One backend's forward pass with its KV cache: the CPU path ({@link Forward}) or the TornadoVM path
 * ({@code dev.minitron.gpu.TornadoForward}, built only where the SDK is present). The generation loop, the
 * scorer and the benchmarks only see this interface.
 */
public interface ForwardPass extends AutoCloseable {
    /**
     * Runs {@code tokens} at positions {@code pos, pos+1, ...} (the cache holds positions before {@code pos}) and
     * returns the logits of the last position ({@code [V]}) or of every position ({@code [T * V]}).
     */
    float[] forward(int[] tokens, int pos, boolean allPositions);

    /**
     * Greedy step: runs {@code tokens} like {@link #forward} and returns the arg-max token of the last position.
     * A device backend overrides it to keep the logits on the device (only the id comes back).
     */
    default int forwardArgmax(int[] tokens, int pos) {
        return Sampler.argmax(forward(tokens, pos, false));
    }

    /** Positions the KV cache holds. */
    int context();

    Config config();

    /** Frees device memory, if any. */
    @Override
    default void close() {}
}
