package dev.minitron.tensor;

/**
 * Element types of weight tensors, with their block layout.
 *
 * <p>Float types have a block of one element. GGUF quantized types store {@link #blockSize()} weights
 * in {@link #blockBytes()} bytes (layouts in {@code KQuants}). {@link #ggmlId()} is the type id
 * used in GGUF files (-1 for types that GGUF does not have).
 */
public enum DType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    BF16(30, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210);

    private final int ggmlId;
    private final int blockSize;
    private final int blockBytes;

    DType(int ggmlId, int blockSize, int blockBytes) {
        this.ggmlId = ggmlId;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int ggmlId() { return ggmlId; }

    /** Number of weights in one block (1 for float types). */
    public int blockSize() { return blockSize; }

    /** Bytes one block occupies. */
    public int blockBytes() { return blockBytes; }

    public boolean isQuantized() { return blockSize > 1; }

    /** Bytes needed for {@code n} elements; {@code n} must be a multiple of the block size. */
    public long bytesFor(long n) {
        if (n % blockSize != 0) {
            throw new IllegalArgumentException(this + " needs a multiple of " + blockSize + " elements, got " + n);
        }
        return n / blockSize * blockBytes;
    }

    /** The type with this GGUF id, or null. */
    public static DType fromGgml(int id) {
        for (DType t : values()) if (t.ggmlId == id) return t;
        return null;
    }

    /** The type named in a safetensors header ("F32", "F16", "BF16"), or null. */
    public static DType fromSafetensors(String name) {
        return switch (name) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            default -> null;
        };
    }
}
