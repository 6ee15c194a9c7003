package dev.minitron.io;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads PyTorch {@code pytorch_model*.bin} checkpoints (the torch.save zip format of PyTorch >= 1.6) without
 * Python and without executing anything.
 *
 * <p>The file is memory-mapped; its zip central directory is parsed by {@link ZipIndex} (ZIP64 included) and
 * {@code <archive>/data.pkl} is interpreted by the restricted {@link Unpickler}, which accepts only the globals
 * that describe tensors ({@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter},
 * {@code torch.BFloat16Storage / HalfStorage / FloatStorage}, {@code collections.OrderedDict}) and refuses
 * anything else ({@code os.system}, {@code builtins.eval}, ...) before it could matter. Tensor bytes live in the
 * STORED zip entries {@code <archive>/data/<key>}; {@code <archive>} is whatever single top-level folder holds
 * {@code data.pkl} (the file stem for new torch versions, {@code archive} for older ones).
 *
 * <p>Decisions:
 * <ul>
 *   <li>The top level must be a dict or {@code collections.OrderedDict} of str to tensor; any other value
 *       (nested dicts of training checkpoints, ints like {@code epoch}) is refused with its key named.</li>
 *   <li>Contiguous (row-major) tensors, which is what {@code save_pretrained} writes, are views into the mapping:
 *       no copy. Several tensors may share one storage at different offsets.</li>
 *   <li>Non-contiguous tensors (e.g. a transposed view saved as is) are gathered into a row-major copy in native
 *       memory (an automatic arena, not the Java heap). The copy may not be larger than the storage it reads
 *       from, so that overlapping or zero strides cannot make a small file allocate a huge tensor.</li>
 *   <li>Only little-endian files: a {@code byteorder} entry that says {@code big} is refused (a missing entry
 *       means little-endian, as in older torch versions).</li>
 *   <li>Compressed entries are refused: their data cannot be mapped.</li>
 * </ul>
 */
public final class TorchCheckpoint {
    private TorchCheckpoint() {}

    /**
     * Reads one torch.save zip file; returns name -> Tensor (views into the memory-mapped file, no copies), in
     * the order of data.pkl. The only copies are of non-contiguous tensors (see the class comment).
     *
     * @throws ModelException naming the file and the problem, for anything that is not a plain state dict
     */
    public static Map<String, Tensor> read(Path binFile) {
        String file = binFile.toString();
        MemorySegment seg = MappedFile.map(binFile);
        ZipIndex zip = ZipIndex.read(seg, file);
        String prefix = archivePrefix(zip, file);

        ZipIndex.Entry order = zip.get(prefix + "byteorder");
        if (order != null) {
            String s = new String(zip.data(order).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
            if (s.equals("big")) {
                throw new ModelException(file + ": tensors are stored big-endian (byteorder 'big'); only"
                        + " little-endian checkpoints are supported");
            }
            if (!s.equals("little")) {
                throw new ModelException(file + ": unknown byteorder '" + (s.length() > 20 ? s.substring(0, 20) : s)
                        + "' in " + prefix + "byteorder");
            }
        }

        ZipIndex.Entry pkl = zip.get(prefix + "data.pkl");
        Object root = new Unpickler(zip.data(pkl), file + ": " + pkl.name()).load();
        if (!(root instanceof Map<?, ?> dict)) {
            throw new ModelException(file + ": data.pkl holds a value of type " + Unpickler.typeName(root)
                    + ", not a dict of tensors");
        }

        Map<String, MemorySegment> storages = new HashMap<>();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new ModelException(file + ": data.pkl has a key of type " + Unpickler.typeName(e.getKey())
                        + " (" + e.getKey() + "); tensor names must be strings");
            }
            if (!(e.getValue() instanceof Unpickler.TensorRef ref)) {
                throw new ModelException(file + ": entry '" + Unpickler.printable(name) + "' in data.pkl is of type "
                        + Unpickler.typeName(e.getValue()) + ", not a tensor; only a flat dict of tensors"
                        + " (a state dict) can be read");
            }
            out.put(name, tensor(file, zip, prefix, name, ref, storages));
        }
        return Collections.unmodifiableMap(out);
    }

    /** {@code "<folder>/"} of the single top-level folder that holds data.pkl. */
    private static String archivePrefix(ZipIndex zip, String file) {
        String found = null;
        for (String name : zip.entries().keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0 && name.endsWith("/data.pkl") && slash == name.length() - "/data.pkl".length()) {
                if (found != null) {
                    throw new ModelException(file + ": zip file has several top-level folders with a data.pkl ('"
                            + found + "data.pkl' and '" + name + "')");
                }
                found = name.substring(0, slash + 1);
            }
        }
        if (found == null) {
            throw new ModelException(file + ": zip file has no '<folder>/data.pkl' entry; it is not a torch.save"
                    + " checkpoint");
        }
        return found;
    }

    private static Tensor tensor(String file, ZipIndex zip, String prefix, String name, Unpickler.TensorRef ref,
                                 Map<String, MemorySegment> storages) {
        Unpickler.Storage st = ref.storage();
        DType dtype = st.dtype();
        long elem = dtype.bytesFor(1);
        String what = file + ": tensor '" + Unpickler.printable(name) + "'";
        String entryName = prefix + "data/" + st.key();

        MemorySegment storage = storages.get(entryName);
        if (storage == null) {
            ZipIndex.Entry entry = zip.get(entryName);
            if (entry == null) {
                throw new ModelException(what + " refers to storage '" + entryName
                        + "', which is not in the zip file");
            }
            storage = zip.data(entry);
            storages.put(entryName, storage);
        }
        long need = mul(st.numel(), elem, what);
        if (storage.byteSize() < need) {
            throw new ModelException(what + ": storage '" + entryName + "' has " + storage.byteSize()
                    + " bytes, but data.pkl says it holds " + st.numel() + " " + dtype + " elements (" + need
                    + " bytes)");
        }

        long[] size = ref.size();
        long[] stride = ref.stride();
        String layout = "size " + Arrays.toString(size) + ", stride " + Arrays.toString(stride)
                + ", storage_offset " + ref.storageOffset();
        if (size.length != stride.length) {
            throw new ModelException(what + " has " + size.length + " sizes but " + stride.length + " strides");
        }
        long numel = 1;
        long last = ref.storageOffset(); // storage index of the last element
        boolean contiguous = true;
        long expectStride = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] < 0 || stride[i] < 0) throw new ModelException(what + " has a negative " + layout);
            numel = mul(numel, size[i], what);
            if (size[i] > 0) last = add(last, mul(size[i] - 1, stride[i], what), what);
            if (size[i] != 1) {
                if (stride[i] != expectStride) contiguous = false;
                expectStride = mul(expectStride, size[i], what);
            }
        }
        if (ref.storageOffset() < 0) throw new ModelException(what + " has a negative " + layout);
        if (numel == 0) return new Tensor(name, dtype, size, storage.asSlice(0, 0));
        if (last >= st.numel()) {
            throw new ModelException(what + " (" + layout + ") reaches element " + last + ", past the end of"
                    + " storage '" + entryName + "' with " + st.numel() + " elements");
        }
        long bytes = mul(numel, elem, what);
        if (contiguous) {
            return new Tensor(name, dtype, size, storage.asSlice(ref.storageOffset() * elem, bytes));
        }
        if (bytes > need) {
            throw new ModelException(what + " (" + layout + ") is a non-contiguous view larger than its storage '"
                    + entryName + "'; such tensors are not supported");
        }
        return new Tensor(name, dtype, size, gather(storage, elem, ref.storageOffset(), size, stride, bytes));
    }

    /** Copies a strided view into a new row-major segment. */
    private static MemorySegment gather(MemorySegment src, long elem, long offset, long[] size, long[] stride,
                                        long bytes) {
        MemorySegment dst = Arena.ofAuto().allocate(bytes, 8);
        int nd = size.length;
        long[] idx = new long[nd];
        long inner = size[nd - 1];
        long innerStride = stride[nd - 1];
        long d = 0;
        while (true) {
            long s = offset;
            for (int i = 0; i < nd - 1; i++) s += idx[i] * stride[i];
            if (innerStride == 1) {
                MemorySegment.copy(src, s * elem, dst, d, inner * elem);
                d += inner * elem;
            } else {
                for (long j = 0; j < inner; j++, d += elem) {
                    MemorySegment.copy(src, (s + j * innerStride) * elem, dst, d, elem);
                }
            }
            int i = nd - 2;
            while (i >= 0 && ++idx[i] == size[i]) idx[i--] = 0;
            if (i < 0) break;
        }
        return dst;
    }

    private static long mul(long a, long b, String what) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new ModelException(what + " is too large (" + a + " x " + b + " overflows)");
        }
    }

    private static long add(long a, long b, String what) {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            throw new ModelException(what + " is too large (" + a + " + " + b + " overflows)");
        }
    }
}
