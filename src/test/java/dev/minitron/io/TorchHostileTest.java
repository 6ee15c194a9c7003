package dev.minitron.io;

import dev.minitron.io.TorchCheckpointTest.Opts;
import dev.minitron.io.TorchCheckpointTest.Pkl;
import dev.minitron.io.TorchCheckpointTest.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static dev.minitron.io.TorchCheckpointTest.le;
import static dev.minitron.io.TorchCheckpointTest.stateDict;
import static dev.minitron.io.TorchCheckpointTest.writeCheckpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Malicious and malformed checkpoints: each must end in a one-line ModelException naming the file and problem. */
class TorchHostileTest {

    @TempDir Path tmp;

    private static final byte[] FOUR_FLOATS = new byte[16];

    private static Spec vector(String name, String key, long numel, long offset, long size) {
        return new Spec(name, "FloatStorage", key, numel, offset, new long[] {size}, new long[] {1});
    }

    private static byte[] goodPickle() {
        return stateDict(List.of(vector("w", "0", 4, 0, 4)), Opts.PLAIN).bytes();
    }

    private Path checkpoint(String name, byte[] pkl) throws IOException {
        return checkpoint(name, pkl, Map.of("0", FOUR_FLOATS));
    }

    private Path checkpoint(String name, byte[] pkl, Map<String, byte[]> storages) throws IOException {
        Path f = tmp.resolve(name + ".bin");
        writeCheckpoint(f, name, pkl, storages, false);
        return f;
    }

    /** Asserts that reading fails with one line that starts with the file and contains every fragment. */
    private static ModelException refused(Path f, String... fragments) {
        ModelException e = assertThrows(ModelException.class, () -> TorchCheckpoint.read(f));
        String m = e.getMessage();
        assertTrue(m.startsWith(f.toString() + ": "), "message should name the file: " + m);
        assertFalse(m.contains("\n"), "one line: " + m);
        for (String s : fragments) assertTrue(m.contains(s), "message should contain '" + s + "': " + m);
        return e;
    }

    @Test
    void sanityTheBaselineIsReadable() throws IOException {
        assertEquals(Set.of("w"), TorchCheckpoint.read(checkpoint("good", goodPickle())).keySet());
    }

    // ---- code execution attempts ---------------------------------------------------------------------------------

    @Test
    void osSystemIsRefusedByNameAndNothingRuns() throws IOException {
        Path marker = tmp.resolve("pwned");
        byte[] pkl = new Pkl().proto(2).global("os", "system").str("touch " + marker).op(0x85).op(0x52).stop().bytes();
        Path f = checkpoint("evil", pkl);
        refused(f, "data.pkl references global 'os.system', which is not allowed in a weights file");
        assertFalse(Files.exists(marker), "the command must not have run");
    }

    @Test
    void payloadHiddenAfterValidTensorsIsRefused() throws IOException {
        // a valid state dict whose second value is os.system(...) - must fail, not return the first tensor
        Path marker = tmp.resolve("pwned2");
        byte[] good = goodPickle();
        Pkl p = new Pkl().raw(Arrays.copyOf(good, good.length - 1)) // drop STOP
                .str("x").global("os", "system").str("touch " + marker).op(0x85).op(0x52).op(0x73).stop();
        refused(checkpoint("hidden", p.bytes()), "'os.system'", "not allowed");
        assertFalse(Files.exists(marker));
    }

    @Test
    void stackGlobalIsCheckedToo() throws IOException {
        byte[] pkl = new Pkl().proto(4).shortStr("builtins").shortStr("exec").op(0x93).shortStr("print(1)")
                .op(0x85).op(0x52).stop().bytes();
        refused(checkpoint("stackglobal", pkl), "global 'builtins.exec', which is not allowed");
    }

    @ParameterizedTest
    @CsvSource({
            "builtins, eval", "posix, system", "nt, system", "subprocess, Popen", "__builtin__, getattr",
            "builtins, getattr", "torch, load", "torch.storage, _load_from_bytes", "numpy.core.multiarray, _reconstruct",
            "torch._utils, _rebuild_device_tensor_from_numpy", "collections, defaultdict", "torch, Tensor"})
    void forbiddenGlobalsAreRefusedByName(String module, String name) throws IOException {
        byte[] pkl = new Pkl().proto(2).global(module, name).str("x").op(0x85).op(0x52).stop().bytes();
        refused(checkpoint("g", pkl), "data.pkl references global '" + module + "." + name
                + "', which is not allowed in a weights file");
    }

    @Test
    void unsupportedStorageTypeIsNamed() throws IOException {
        byte[] pkl = stateDict(List.of(new Spec("n", "LongStorage", "0", 2, 0, new long[] {2}, new long[] {1})),
                Opts.PLAIN).bytes();
        refused(checkpoint("long", pkl), "storage type 'torch.LongStorage', which is not supported");
    }

    @Test
    void storageTypeCannotBeCalled() throws IOException {
        byte[] pkl = new Pkl().proto(2).global("torch", "FloatStorage").op(0x29).op(0x52).stop().bytes();
        refused(checkpoint("callstorage", pkl), "calls 'torch.FloatStorage'");
    }

    @ParameterizedTest
    @CsvSource({"129, 0x81 (NEWOBJ)", "105, 0x69 (INST)", "111, 0x6f (OBJ)", "130, 0x82 (EXT1)", "80, 0x50 (PERSID)",
            "48, 0x30 (POP)", "146, 0x92 (NEWOBJ_EX)", "100, 0x64 (DICT)", "255, 0xff (unknown)"})
    void unknownOrForbiddenOpcodesAreNamed(int op, String name) throws IOException {
        // e.g. INST reads "os\nsystem\n" as its argument: the opcode itself must be refused first
        Pkl p = new Pkl().proto(2).op(0x7d).mark().op(op).raw("os\nsystem\n".getBytes(StandardCharsets.US_ASCII)).stop();
        refused(checkpoint("op", p.bytes()), "pickle opcode " + name + " at byte 4, which is not allowed");
    }

    @Test
    void buildOnAPlainDictIsRefused() throws IOException {
        byte[] pkl = new Pkl().proto(2).op(0x7d).op(0x7d).op(0x62).stop().bytes();
        refused(checkpoint("build", pkl), "BUILD", "only allowed");
    }

    // ---- malformed pickles ---------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {1, 10, 40, 77, 100, -1})
    void truncatedPickleIsRefused(int cut) throws IOException {
        byte[] good = goodPickle();
        int len = cut < 0 ? good.length + cut : cut;
        refused(checkpoint("trunc", Arrays.copyOf(good, len)), "data.pkl is truncated");
    }

    @Test
    void hugeStringLengthIsTruncationNotOutOfMemory() throws IOException {
        byte[] pkl = new Pkl().proto(2).op(0x58).raw(le(4).putInt(0, Integer.MAX_VALUE).array()).raw(new byte[8]).bytes();
        refused(checkpoint("hugestr", pkl), "truncated", "2147483647");
    }

    @Test
    void topLevelMustBeADictOfTensors() throws IOException {
        refused(checkpoint("list", new Pkl().proto(2).op(0x5d).stop().bytes()), "data.pkl holds a value of type list");
        refused(checkpoint("intkey", new Pkl().proto(2).op(0x7d).int1(3).str("v").op(0x73).stop().bytes()),
                "key of type int", "must be strings");
        refused(checkpoint("epoch", new Pkl().proto(2).op(0x7d).str("epoch").int1(3).op(0x73).stop().bytes()),
                "entry 'epoch' in data.pkl is of type int, not a tensor");
    }

    @Test
    void badPersistentIdIsRefused() throws IOException {
        byte[] pkl = new Pkl().proto(2).op(0x7d).str("w").str("/etc/passwd").op(0x51).op(0x73).stop().bytes();
        refused(checkpoint("persid", pkl), "persistent id", "not ('storage', type, key, location, numel)");
    }

    // ---- storages that do not fit --------------------------------------------------------------------------------

    @Test
    void compressedStorageIsRefused() throws IOException {
        Path f = tmp.resolve("deflated.bin");
        TorchCheckpointTest.writeJavaZip(f, TorchCheckpointTest.checkpointEntries("ckpt", goodPickle(),
                Map.of("0", FOUR_FLOATS)), Set.of("ckpt/data/0"));
        refused(f, "entry 'ckpt/data/0' is compressed (method 8); only stored entries can be memory-mapped");
    }

    @Test
    void storageSmallerThanNumelIsRefused() throws IOException {
        Path f = checkpoint("small", goodPickle(), Map.of("0", new byte[8]));
        refused(f, "tensor 'w'", "storage 'small/data/0' has 8 bytes", "4 F32 elements (16 bytes)");
    }

    @Test
    void storageOffsetPastTheEndIsRefused() throws IOException {
        refused(checkpoint("offset", stateDict(List.of(vector("w", "0", 4, 3, 4)), Opts.PLAIN).bytes()),
                "tensor 'w'", "storage_offset 3", "reaches element 6, past the end of storage 'offset/data/0' with 4 elements");
        refused(checkpoint("offset2", stateDict(List.of(vector("w", "0", 4, 70_000, 1)), Opts.PLAIN).bytes()),
                "reaches element 70000");
    }

    @Test
    void broadcastViewLargerThanItsStorageIsRefused() throws IOException {
        // stride 0: 1e9 elements from a 4-element storage would make a tiny file allocate 4 GB
        Spec s = new Spec("b", "FloatStorage", "0", 4, 0, new long[] {1_000_000_000L}, new long[] {0});
        refused(checkpoint("bcast", stateDict(List.of(s), Opts.PLAIN).bytes()), "non-contiguous view larger than its storage");
    }

    @Test
    void negativeSizeIsRefused() throws IOException {
        Spec s = new Spec("w", "FloatStorage", "0", 4, 0, new long[] {-4}, new long[] {1});
        refused(checkpoint("neg", stateDict(List.of(s), Opts.PLAIN).bytes()), "tensor 'w' has a negative size");
    }

    @Test
    void missingStorageEntryIsRefused() throws IOException {
        byte[] pkl = stateDict(List.of(vector("w", "5", 4, 0, 4)), Opts.PLAIN).bytes();
        refused(checkpoint("missing", pkl), "tensor 'w' refers to storage 'missing/data/5', which is not in the zip file");
    }

    @Test
    void bigEndianIsRefused() throws IOException {
        Path f = tmp.resolve("be.bin");
        Map<String, byte[]> e = TorchCheckpointTest.checkpointEntries("be", goodPickle(), Map.of("0", FOUR_FLOATS));
        e.put("be/byteorder", "big".getBytes(StandardCharsets.US_ASCII));
        TorchCheckpointTest.writeJavaZip(f, e, Set.of());
        refused(f, "byteorder 'big'", "only little-endian");
    }

    // ---- broken containers ---------------------------------------------------------------------------------------

    @Test
    void truncatedZipIsRefused() throws IOException {
        byte[] whole = Files.readAllBytes(TorchCheckpointTest.BIN_DIR.resolve("pytorch_model-00002-of-00002.bin"));
        Path f = tmp.resolve("half.bin");
        Files.write(f, Arrays.copyOf(whole, whole.length / 2));
        refused(f, "zip file is truncated or damaged", "no end of central directory");
    }

    @Test
    void zipWithoutDataPklIsRefused() throws IOException {
        Path f = tmp.resolve("plain.zip");
        TorchCheckpointTest.writeJavaZip(f, Map.of("readme.txt", "hi".getBytes(StandardCharsets.US_ASCII)), Set.of());
        refused(f, "no '<folder>/data.pkl' entry", "not a torch.save checkpoint");
    }

    @Test
    void nonZipFilesAreRefused() throws IOException {
        Path text = tmp.resolve("model.bin");
        Files.writeString(text, "this is not a checkpoint\n".repeat(10));
        refused(text, "not a zip file");
        Path legacy = tmp.resolve("legacy.bin");
        Files.write(legacy, new Pkl().proto(2).op(0x8a).raw(new byte[] {10}).raw(new byte[40]).bytes());
        refused(legacy, "legacy torch.save format");
        Path empty = tmp.resolve("empty.bin");
        Files.write(empty, new byte[0]);
        refused(empty, "file is empty");
    }
    // ---- fuzzing: corrupted bytes may be refused, but only ever with a ModelException ----------------------------

    @Test
    void corruptedPicklesAndZipsOnlyEverThrowModelException() throws IOException {
        Random rnd = new Random(42);
        byte[] pkl = stateDict(List.of(vector("a", "0", 4, 0, 2), vector("b", "0", 4, 2, 2)),
                new Opts(true, 1, 250, false, false)).bytes();
        byte[] zip = Files.readAllBytes(TorchCheckpointTest.BIN_DIR.resolve("pytorch_model-00002-of-00002.bin"));
        int headerStart = zip.length - 1200; // central directory, ZIP64 records, last local headers
        int cases = 400;
        int readable = 0;
        for (int i = 0; i < cases; i++) {
            Path f;
            if (i % 2 == 0) {
                byte[] p = pkl.clone();
                for (int k = 1 + rnd.nextInt(3); k > 0; k--) p[rnd.nextInt(p.length)] = (byte) rnd.nextInt(256);
                f = checkpoint("fuzz" + i, p);
            } else {
                byte[] z = zip.clone();
                for (int k = 1 + rnd.nextInt(3); k > 0; k--) {
                    int at = rnd.nextBoolean() ? headerStart + rnd.nextInt(zip.length - headerStart) : rnd.nextInt(1100);
                    z[at] = (byte) rnd.nextInt(256);
                }
                f = tmp.resolve("fuzz" + i + ".bin");
                Files.write(f, z);
            }
            try {
                TorchCheckpoint.read(f);
                readable++;
            } catch (ModelException e) {
                assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
            } catch (RuntimeException | StackOverflowError e) {
                throw new AssertionError("case " + i + ": " + e, e);
            }
        }
        assertTrue(readable < cases / 2, "corruption should usually be noticed: " + readable + " of " + cases + " read");
    }
}
