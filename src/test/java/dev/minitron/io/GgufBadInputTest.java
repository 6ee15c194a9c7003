package dev.minitron.io;

import dev.minitron.tensor.DequantChecks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Corrupt GGUF files, each made from tiny-a-f32.gguf by changing a few bytes: every problem must be a
 * ModelException with one line naming the file and what is wrong.
 *
 * <p>tiny-a-f32.gguf: header 24 bytes, 32 metadata keys (the first is general.architecture), 34 tensor infos,
 * data from offset 24480, alignment 32; output.weight is at data offset 0, blk.0.attn_output.weight at 652288.
 */
class GgufBadInputTest {
    static final Path GOOD = DequantChecks.resource("fixtures/tiny-a/gguf/tiny-a-f32.gguf");

    @TempDir
    Path tmp;

    static byte[] good() throws IOException {
        return Files.readAllBytes(GOOD);
    }

    /** Writes {@code bytes} to a temp file and expects Gguf.open to fail with a message containing {@code parts}. */
    ModelException expectFailure(byte[] bytes, String... parts) throws IOException {
        Path f = tmp.resolve("bad.gguf");
        Files.write(f, bytes);
        ModelException e = assertThrows(ModelException.class, () -> Gguf.open(f));
        String m = e.getMessage();
        assertTrue(m.startsWith(f + ": "), "message names the file: " + m);
        assertFalse(m.contains("\n"), "one line: " + m);
        for (String p : parts) assertTrue(m.contains(p), "message should contain '" + p + "': " + m);
        return e;
    }

    static void putU32(byte[] b, int pos, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(pos, v);
    }

    static void putU64(byte[] b, int pos, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(pos, v);
    }

    static long getU64(byte[] b, int pos) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(pos);
    }

    /** Position just after a length-prefixed string {@code s} in the header (its first occurrence). */
    static int after(byte[] b, String s) {
        byte[] str = s.getBytes(StandardCharsets.UTF_8);
        byte[] pat = new byte[8 + str.length];
        ByteBuffer.wrap(pat).order(ByteOrder.LITTLE_ENDIAN).putLong(str.length).put(str);
        outer:
        for (int i = 0; i + pat.length <= 24480; i++) {
            for (int j = 0; j < pat.length; j++) if (b[i + j] != pat[j]) continue outer;
            return i + pat.length;
        }
        throw new IllegalStateException(s + " not found");
    }

    /** Tensor info fields (after the name): n_dims, ne[], type, offset. */
    static int nDimsPos(byte[] b, String tensor) { return after(b, tensor); }

    static int typePos(byte[] b, String tensor, int nDims) { return after(b, tensor) + 4 + 8 * nDims; }

    static int offsetPos(byte[] b, String tensor, int nDims) { return typePos(b, tensor, nDims) + 4; }

    @Test
    void theUncorruptedCopyOpens() throws IOException {
        Path f = tmp.resolve("good.gguf");
        Files.write(f, good());
        assertEquals(34, Gguf.open(f).tensors().size());
        byte[] b = good();
        assertEquals(652288, getU64(b, offsetPos(b, "blk.0.attn_output.weight", 2)), "layout assumed by these tests");
    }

    @Test
    void wrongMagic() throws IOException {
        byte[] b = good();
        b[3] = 'X';
        expectFailure(b, "not a GGUF file (magic 0x47475558 \"GGUX\"");
    }

    @Test
    void notEvenAMagic() throws IOException {
        expectFailure(new byte[] {'G', 'G'}, "not a GGUF file (only 2 bytes)");
    }

    @Test
    void version1IsRefused() throws IOException {
        byte[] b = good();
        putU32(b, 4, 1);
        expectFailure(b, "GGUF version 1 is not supported");
    }

    @Test
    void version99IsRefused() throws IOException {
        byte[] b = good();
        putU32(b, 4, 99);
        expectFailure(b, "unsupported GGUF version 99");
    }

    @Test
    void bigEndianIsRefused() throws IOException {
        byte[] b = good();
        putU32(b, 4, Integer.reverseBytes(3));
        expectFailure(b, "big-endian GGUF");
    }

    @Test
    void absurdTensorCount() throws IOException {
        byte[] b = good();
        putU64(b, 8, 1L << 40);
        expectFailure(b, "tensor count 1099511627776", "cannot fit");
    }

    @Test
    void absurdKvCount() throws IOException {
        byte[] b = good();
        putU64(b, 16, -1L);
        expectFailure(b, "metadata kv count 18446744073709551615", "cannot fit");
    }

    @Test
    void stringLengthPastEnd() throws IOException {
        byte[] b = good();
        putU64(b, 24, 1L << 40);   // length of the first key
        expectFailure(b, "metadata key #0", "string length 1099511627776", "past the end of the file");
    }

    @Test
    void absurdArrayLength() throws IOException {
        byte[] b = good();
        int p = after(b, "tokenizer.ggml.tokens");   // then: uint32 type ARRAY, uint32 STRING, uint64 count
        assertEquals(1000, getU64(b, p + 8));
        putU64(b, p + 8, 1L << 40);
        expectFailure(b, "'tokenizer.ggml.tokens'", "array length 1099511627776");
    }

    @Test
    void unknownValueType() throws IOException {
        byte[] b = good();
        putU32(b, after(b, "general.architecture"), 13);
        expectFailure(b, "metadata key 'general.architecture' has unknown value type 13");
    }

    @Test
    void badBoolean() throws IOException {
        byte[] b = good();
        b[after(b, "tokenizer.ggml.add_bos_token") + 4] = 2;
        expectFailure(b, "'tokenizer.ggml.add_bos_token'", "boolean byte 2");
    }

    @Test
    void duplicateKey() throws IOException {
        byte[] b = good();
        int p = after(b, "general.type") - "general.type".length();
        System.arraycopy("general.name".getBytes(StandardCharsets.US_ASCII), 0, b, p, 12);
        expectFailure(b, "metadata key 'general.name' appears twice");
    }

    @Test
    void badAlignment() throws IOException {
        byte[] b = good();
        // general.file_type (UINT32 0) has the same length as general.alignment
        int p = after(b, "general.file_type") - "general.file_type".length();
        System.arraycopy("general.alignment".getBytes(StandardCharsets.US_ASCII), 0, b, p, 17);
        expectFailure(b, "'general.alignment' is 0, expected a power of two");
        putU32(b, p + 17 + 4, 48);
        expectFailure(b, "'general.alignment' is 48, expected a power of two");
    }

    @Test
    void truncatedHeader() throws IOException {
        byte[] b = good();
        expectFailure(Arrays.copyOf(b, 14), "truncated header", "tensor count at offset 8 needs 8 bytes");
        expectFailure(Arrays.copyOf(b, 30), "tensor count 34", "truncated");
        expectFailure(Arrays.copyOf(b, 12000), "truncated");   // inside the token strings
        expectFailure(Arrays.copyOf(b, 24000), "truncated");   // inside the tensor infos
    }

    @Test
    void tensorDataPastEndOfFile() throws IOException {
        byte[] b = good();
        expectFailure(Arrays.copyOf(b, b.length - 100), "tensor 'output_norm.weight'", "extends past the end of the file");
        putU64(b, offsetPos(b, "blk.1.attn_q.weight", 2), 1L << 40);
        expectFailure(b, "tensor 'blk.1.attn_q.weight'", "offset 1099511627776", "extends past the end of the file");
        putU64(b, offsetPos(b, "blk.1.attn_q.weight", 2), -32L);
        expectFailure(b, "tensor 'blk.1.attn_q.weight'", "extends past the end of the file");
    }

    @Test
    void headerOnlyFile() throws IOException {
        expectFailure(Arrays.copyOf(good(), 24480), "tensor 'output.weight'", "extends past the end of the file");
    }

    @Test
    void misalignedOffset() throws IOException {
        byte[] b = good();
        putU64(b, offsetPos(b, "output.weight", 2), 4);
        expectFailure(b, "tensor 'output.weight': data offset 4 is not a multiple of the alignment 32");
    }

    @Test
    void overlappingTensors() throws IOException {
        byte[] b = good();
        putU64(b, offsetPos(b, "blk.0.attn_q.weight", 2), 652288 + 1024);   // inside blk.0.attn_output.weight
        expectFailure(b, "'blk.0.attn_output.weight'", "'blk.0.attn_q.weight'", "overlap");
    }

    @Test
    void duplicateTensorName() throws IOException {
        byte[] b = good();
        int p = after(b, "blk.0.attn_q.weight");
        b[p - "q.weight".length()] = 'k';   // blk.0.attn_q.weight -> blk.0.attn_k.weight
        expectFailure(b, "tensor 'blk.0.attn_k.weight' appears twice");
    }

    @Test
    void unknownTensorType() throws IOException {
        byte[] b = good();
        putU32(b, typePos(b, "blk.0.attn_v.weight", 2), 99);
        expectFailure(b, "tensor 'blk.0.attn_v.weight'", "unknown ggml type id 99");
        putU32(b, typePos(b, "blk.0.attn_v.weight", 2), 16);
        expectFailure(b, "tensor 'blk.0.attn_v.weight'", "IQ2_XXS (id 16) is not supported");
    }

    @Test
    void nDims7() throws IOException {
        byte[] b = good();
        putU32(b, nDimsPos(b, "blk.0.ffn_up.weight"), 7);
        expectFailure(b, "tensor 'blk.0.ffn_up.weight': n_dims is 7, expected 1 to 4");
        putU32(b, nDimsPos(b, "blk.0.ffn_up.weight"), 0);
        expectFailure(b, "tensor 'blk.0.ffn_up.weight': n_dims is 0, expected 1 to 4");
    }

    @Test
    void zeroOrNegativeDimension() throws IOException {
        byte[] b = good();
        int ne1 = nDimsPos(b, "blk.0.ffn_up.weight") + 4 + 8;
        putU64(b, ne1, 0);
        expectFailure(b, "tensor 'blk.0.ffn_up.weight': dimension ne[1] is 0");
        putU64(b, ne1, -5);
        expectFailure(b, "tensor 'blk.0.ffn_up.weight': dimension ne[1] is 18446744073709551611");
    }

    @Test
    void elementCountOverflow() throws IOException {
        byte[] b = good();
        int ne0 = nDimsPos(b, "blk.0.ffn_up.weight") + 4;
        putU64(b, ne0, 1L << 40);
        putU64(b, ne0 + 8, 1L << 40);
        expectFailure(b, "tensor 'blk.0.ffn_up.weight'", "overflows");
    }

    @Test
    void rowNotAMultipleOfTheBlockSize() throws IOException {
        byte[] b = good();
        putU32(b, typePos(b, "output_norm.weight", 1), 12);   // [64] as Q4_K
        expectFailure(b, "tensor 'output_norm.weight': row length ne[0] = 64 is not a multiple of the Q4_K block size 256");
    }

    @Test
    void missingAndEmptyFiles() throws IOException {
        Path missing = tmp.resolve("nope.gguf");
        var e = assertThrows(ModelException.class, () -> Gguf.open(missing));
        assertEquals(missing + ": file not found", e.getMessage());
        expectFailure(new byte[0], "empty");
    }

    /**
     * Random damage to the header (a few bytes changed, or a cut) must either still parse or give a ModelException
     * naming the file: never an index, argument or arithmetic exception.
     */
    @Test
    void randomCorruptionOnlyEverGivesModelException() throws IOException {
        byte[] good = good();
        Path name = Path.of("fuzz.gguf");
        Random rnd = new Random(1234);
        int failures = 0;
        for (int iter = 0; iter < 1000; iter++) {
            byte[] b = good.clone();
            int kind = iter % 3;
            if (kind == 2) {
                b = Arrays.copyOf(b, rnd.nextInt(24480 + 64));
            } else {
                int changes = 1 + rnd.nextInt(4);
                for (int k = 0; k < changes; k++) {
                    int pos = rnd.nextInt(24480);
                    if (kind == 0) b[pos] = (byte) rnd.nextInt(256);
                    else b[pos] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            try {
                Gguf.parse(name, MemorySegment.ofArray(b));
            } catch (ModelException e) {
                failures++;
                assertTrue(e.getMessage().startsWith("fuzz.gguf: "), e.getMessage());
            } catch (RuntimeException | StackOverflowError e) {
                fail("iteration " + iter + ": " + e, e);
            }
        }
        assertTrue(failures > 200, "most corruptions are caught: " + failures);
    }
}
