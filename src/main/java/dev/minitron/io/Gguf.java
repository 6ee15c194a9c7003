package dev.minitron.io;

import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed GGUF file (versions 2 and 3, little-endian), memory-mapped: tensor data stays in the file.
 *
 * <p>Layout: {@code "GGUF"}, {@code uint32 version}, {@code uint64 tensor_count}, {@code uint64 kv_count}, then
 * kv_count metadata entries ({@code string key, uint32 type, value}), then tensor_count tensor infos
 * ({@code string name, uint32 n_dims, uint64 ne[n_dims], uint32 ggml_type, uint64 offset}), then padding up to
 * {@code general.alignment} (default 32), then the tensor data; each tensor's offset is relative to that data
 * start. A string is {@code uint64 length} + UTF-8 bytes; an array is {@code uint32 type, uint64 count} + values.
 *
 * <p>Metadata values map to Java as: every integer scalar type to {@link Long} (UINT64 keeps its 64 bits),
 * FLOAT32/FLOAT64 to {@link Double}, BOOL to {@link Boolean}, STRING to {@link String}; arrays to
 * {@code String[]}, {@code float[]} (FLOAT32), {@code double[]} (FLOAT64), {@code int[]} (8, 16 and 32-bit
 * integers; unsigned ones zero-extended, UINT32 as its int bits), {@code long[]} (64-bit integers),
 * {@code boolean[]}, or {@code Object[]} for arrays of arrays.
 *
 * <p>{@link #open} validates the whole header and the placement of every tensor; any problem is reported as a
 * {@link ModelException} whose one-line message names the file and, where relevant, the key or tensor.
 */
public final class Gguf {
    /** "GGUF" read as a little-endian uint32. */
    static final int MAGIC = 0x46554747;
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    private static final int MAX_NESTING = 8;

    // GGUF metadata value types
    static final int T_UINT8 = 0, T_INT8 = 1, T_UINT16 = 2, T_INT16 = 3, T_UINT32 = 4, T_INT32 = 5,
            T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_UINT64 = 10, T_INT64 = 11, T_FLOAT64 = 12;

    private final Path path;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, Tensor> tensors;
    private final long dataOffset;
    private final int alignment;

    private Gguf(Path path, int version, Map<String, Object> metadata, Map<String, Tensor> tensors,
                 long dataOffset, int alignment) {
        this.path = path;
        this.version = version;
        this.metadata = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(metadata));
        this.tensors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(tensors));
        this.dataOffset = dataOffset;
        this.alignment = alignment;
    }

    /** Maps {@code file} read-only and parses and validates it. */
    public static Gguf open(Path file) {
        return parse(file, MappedFile.map(file));
    }

    /** Parses GGUF bytes already in memory; {@code file} is only used in messages and {@link #path()}. */
    static Gguf parse(Path file, MemorySegment bytes) {
        return new Parser(file, bytes).parse();
    }

    public Path path() { return path; }

    public int version() { return version; }

    /** All metadata in file order (unmodifiable). */
    public Map<String, Object> metadata() { return metadata; }

    /** All tensors in file order (unmodifiable); shapes in PyTorch order (GGUF {@code ne} reversed). */
    public Map<String, Tensor> tensors() { return tensors; }

    /** The tensor called {@code name}; throws {@link ModelException} when it is absent. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new ModelException(path + ": tensor '" + name + "' is missing");
        return t;
    }

    /** Absolute file offset of the tensor data section. */
    public long dataOffset() { return dataOffset; }

    public int alignment() { return alignment; }

    public boolean has(String key) { return metadata.containsKey(key); }

    public String getString(String key) {
        if (require(key) instanceof String s) return s;
        throw wrongType(key, "a string");
    }

    public long getLong(String key) {
        if (require(key) instanceof Long l) return l;
        throw wrongType(key, "an integer");
    }

    public long getLong(String key, long dflt) {
        return has(key) ? getLong(key) : dflt;
    }

    /** A FLOAT32/FLOAT64 value; integer values are accepted and converted. */
    public double getDouble(String key) {
        Object v = require(key);
        if (v instanceof Double d) return d;
        if (v instanceof Long l) return l;
        throw wrongType(key, "a number");
    }

    public double getDouble(String key, double dflt) {
        return has(key) ? getDouble(key) : dflt;
    }

    public boolean getBool(String key, boolean dflt) {
        if (!has(key)) return dflt;
        if (metadata.get(key) instanceof Boolean b) return b;
        throw wrongType(key, "a boolean");
    }

    /** A string array (a copy). */
    public String[] getStrings(String key) {
        if (require(key) instanceof String[] a) return a.clone();
        throw wrongType(key, "a string array");
    }

    /** A FLOAT32 array (a copy); FLOAT64 arrays are rounded to float. */
    public float[] getFloats(String key) {
        Object v = require(key);
        if (v instanceof float[] a) return a.clone();
        if (v instanceof double[] a) {
            float[] out = new float[a.length];
            for (int i = 0; i < a.length; i++) out[i] = (float) a[i];
            return out;
        }
        throw wrongType(key, "a float array");
    }

    /** An 8/16/32-bit integer array (a copy); 64-bit arrays are accepted when every value fits in an int. */
    public int[] getInts(String key) {
        Object v = require(key);
        if (v instanceof int[] a) return a.clone();
        if (v instanceof long[] a) {
            int[] out = new int[a.length];
            for (int i = 0; i < a.length; i++) {
                if (a[i] != (int) a[i]) {
                    throw new ModelException(path + ": metadata key '" + key + "' element " + i + " = " + a[i]
                            + " does not fit in a 32-bit integer");
                }
                out[i] = (int) a[i];
            }
            return out;
        }
        throw wrongType(key, "an integer array");
    }

    private Object require(String key) {
        Object v = metadata.get(key);
        if (v == null) throw new ModelException(path + ": metadata key '" + key + "' is missing");
        return v;
    }

    private ModelException wrongType(String key, String expected) {
        return new ModelException(path + ": metadata key '" + key + "' is " + describe(metadata.get(key))
                + ", expected " + expected);
    }

    /** Words for the Java type of a metadata value, for error messages. */
    static String describe(Object v) {
        return switch (v) {
            case String s -> "a String";
            case Long l -> "an integer";
            case Double d -> "a float";
            case Boolean b -> "a boolean";
            case String[] a -> "a String array";
            case float[] a -> "a float32 array";
            case double[] a -> "a float64 array";
            case int[] a -> "an integer array";
            case long[] a -> "a 64-bit integer array";
            case boolean[] a -> "a boolean array";
            case Object[] a -> "an array of arrays";
            default -> v.getClass().getSimpleName();
        };
    }

    @Override
    public String toString() {
        return "Gguf[" + path + ", v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors]";
    }

    /** Names of the ggml type ids, for messages about types this engine cannot dequantize. */
    static String ggmlTypeName(long id) {
        String[] names = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2 (removed)", "Q4_3 (removed)", "Q5_0", "Q5_1",
                "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
                "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16",
                "Q4_0_4_4 (removed)", "Q4_0_4_8 (removed)", "Q4_0_8_8 (removed)", "TQ1_0", "TQ2_0",
                "IQ4_NL_4_4 (removed)", "IQ4_NL_4_8 (removed)", "IQ4_NL_8_8 (removed)", "MXFP4"};
        return id >= 0 && id < names.length ? names[(int) id] : null;
    }

    /** Reads little-endian values with explicit bounds checks, so corrupt input never escapes as an index error. */
    private static final class Cursor {
        private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        final Path file;
        final MemorySegment seg;
        final long size;
        long pos;

        Cursor(Path file, MemorySegment seg) {
            this.file = file;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        long remaining() { return size - pos; }

        ModelException fail(String msg) {
            return new ModelException(file + ": " + msg);
        }

        /** Ensures {@code n} more bytes exist; {@code what} says what was being read. */
        void need(long n, String what) {
            if (n > remaining()) {
                throw fail("truncated header: " + what + " at offset " + pos + " needs " + n + " bytes, but only "
                        + remaining() + " are left in the file (" + size + " bytes)");
            }
        }

        byte i8(String what) { need(1, what); return seg.get(ValueLayout.JAVA_BYTE, pos++); }

        short i16(String what) { need(2, what); short v = seg.get(I16, pos); pos += 2; return v; }

        int i32(String what) { need(4, what); int v = seg.get(I32, pos); pos += 4; return v; }

        long i64(String what) { need(8, what); long v = seg.get(I64, pos); pos += 8; return v; }

        float f32(String what) { need(4, what); float v = seg.get(F32, pos); pos += 4; return v; }

        double f64(String what) { need(8, what); double v = seg.get(F64, pos); pos += 8; return v; }

        /** A count of items each at least {@code minBytes} long, which must fit in the rest of the file. */
        long count(String what, long minBytes) {
            long at = pos;
            long n = i64(what);
            if (n < 0 || n > remaining() / minBytes) {
                throw fail(what + " " + Long.toUnsignedString(n) + " at offset " + at + " cannot fit in the "
                        + remaining() + " bytes left in the file (truncated or corrupt header; at most "
                        + remaining() / minBytes + " would fit)");
            }
            return n;
        }

        String string(String what) {
            long at = pos;
            long len = i64(what + " length");
            if (len < 0 || len > remaining()) {
                throw fail(what + ": string length " + Long.toUnsignedString(len) + " at offset " + at
                        + " runs past the end of the file (" + remaining() + " bytes left; truncated or corrupt)");
            }
            if (len > Integer.MAX_VALUE - 8) throw fail(what + ": string length " + len + " is too large");
            byte[] b = new byte[(int) len];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, b.length);
            pos += len;
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    private static final class Parser {
        private final Path file;
        private final Cursor c;

        Parser(Path file, MemorySegment seg) {
            this.file = file;
            this.c = new Cursor(file, seg);
        }

        Gguf parse() {
            if (c.size < 4) throw c.fail("not a GGUF file (only " + c.size + " bytes)");
            int magic = c.i32("magic");
            if (magic != MAGIC) {
                throw c.fail("not a GGUF file (magic " + magicString(magic) + ", expected \"GGUF\")");
            }
            int version = c.i32("version");
            if (version == 1) {
                throw c.fail("GGUF version 1 is not supported (32-bit counts); convert the model again with a "
                        + "current llama.cpp (versions 2 and 3 are supported)");
            }
            if (version != 2 && version != 3) {
                int swapped = Integer.reverseBytes(version);
                if (swapped >= 1 && swapped <= 3) {
                    throw c.fail("big-endian GGUF (version " + swapped + ") is not supported, expected little-endian");
                }
                throw c.fail("unsupported GGUF version " + Integer.toUnsignedString(version)
                        + " (expected 2 or 3)");
            }
            // smallest tensor info: empty name (8) + n_dims (4) + one dim (8) + type (4) + offset (8)
            long tensorCount = c.count("tensor count", 32);
            // smallest kv: empty key (8) + type (4) + a one-byte value
            long kvCount = c.count("metadata kv count", 13);

            Map<String, Object> md = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                long at = c.pos;
                String key = c.string("metadata key #" + i);
                int type = c.i32("type of metadata key '" + key + "'");
                Object value = readValue(type, key, 0);
                if (md.putIfAbsent(key, value) != null) {
                    throw c.fail("metadata key '" + key + "' appears twice (second at offset " + at + ")");
                }
            }

            int alignment = DEFAULT_ALIGNMENT;
            Object a = md.get("general.alignment");
            if (a != null) {
                if (!(a instanceof Long l)) {
                    throw c.fail("metadata key 'general.alignment' is " + describe(a) + ", expected an integer");
                }
                if (l <= 0 || l > (1 << 30) || Long.bitCount(l) != 1) {
                    throw c.fail("metadata key 'general.alignment' is " + l + ", expected a power of two");
                }
                alignment = (int) (long) l;
            }

            List<Info> infos = new ArrayList<>();
            Map<String, Info> byName = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                Info info = readInfo(i);
                if (byName.putIfAbsent(info.name, info) != null) {
                    throw c.fail("tensor '" + info.name + "' appears twice in the tensor list");
                }
                infos.add(info);
            }

            long dataOffset = alignUp(c.pos, alignment);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Info t : infos) {
                if (t.offset >= 0 && t.offset % alignment != 0) {
                    throw c.fail("tensor '" + t.name + "': data offset " + t.offset
                            + " is not a multiple of the alignment " + alignment);
                }
                long available = c.size - dataOffset;
                if (t.offset < 0 || available < t.bytes || t.offset > available - t.bytes) {
                    throw c.fail("tensor '" + t.name + "': data at offset " + Long.toUnsignedString(t.offset)
                            + " + " + t.bytes + " bytes (" + t.type + " " + dims(t.ne) + ") extends past the end"
                            + " of the file (data section starts at " + dataOffset + ", file has " + c.size
                            + " bytes)");
                }
            }
            List<Info> sorted = new ArrayList<>(infos);
            sorted.sort(Comparator.comparingLong(t -> t.offset));
            for (int i = 1; i < sorted.size(); i++) {
                Info prev = sorted.get(i - 1), cur = sorted.get(i);
                if (cur.offset < prev.offset + prev.bytes) {
                    throw c.fail("tensors '" + prev.name + "' (bytes " + prev.offset + ".." + (prev.offset + prev.bytes)
                            + ") and '" + cur.name + "' (from " + cur.offset + ") overlap in the data section");
                }
            }
            for (Info t : infos) {
                long[] shape = new long[t.ne.length];
                for (int d = 0; d < shape.length; d++) shape[d] = t.ne[t.ne.length - 1 - d];
                tensors.put(t.name, new Tensor(t.name, t.type, shape, c.seg.asSlice(dataOffset + t.offset, t.bytes)));
            }
            return new Gguf(file, version, md, tensors, dataOffset, alignment);
        }

        private record Info(String name, long[] ne, DType type, long offset, long bytes) {}

        private Info readInfo(long index) {
            String name = c.string("name of tensor #" + index);
            String what = "tensor '" + name + "'";
            int nDims = c.i32(what + " n_dims");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw c.fail(what + ": n_dims is " + Integer.toUnsignedString(nDims) + ", expected 1 to " + MAX_DIMS);
            }
            long[] ne = new long[nDims];
            long n = 1;
            for (int d = 0; d < nDims; d++) {
                ne[d] = c.i64(what + " ne[" + d + "]");
                if (ne[d] <= 0) {
                    throw c.fail(what + ": dimension ne[" + d + "] is " + Long.toUnsignedString(ne[d])
                            + ", expected a positive size");
                }
                if (n > Long.MAX_VALUE / ne[d]) throw c.fail(what + ": element count of " + dims(ne) + " overflows");
                n *= ne[d];
            }
            int typeId = c.i32(what + " type");
            DType type = DType.fromGgml(typeId);
            if (type == null) {
                String known = ggmlTypeName(Integer.toUnsignedLong(typeId));
                throw c.fail(what + ": " + (known == null
                        ? "unknown ggml type id " + Integer.toUnsignedString(typeId)
                        : "ggml type " + known + " (id " + typeId + ") is not supported")
                        + "; supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K");
            }
            if (ne[0] % type.blockSize() != 0) {
                throw c.fail(what + ": row length ne[0] = " + ne[0] + " is not a multiple of the " + type
                        + " block size " + type.blockSize());
            }
            long blocks = n / type.blockSize();
            if (blocks > Long.MAX_VALUE / type.blockBytes()) {
                throw c.fail(what + ": size of " + type + " " + dims(ne) + " overflows");
            }
            long offset = c.i64(what + " data offset");
            return new Info(name, ne, type, offset, blocks * type.blockBytes());
        }

        private Object readValue(int type, String key, int depth) {
            String what = "value of metadata key '" + key + "'";
            return switch (type) {
                case T_UINT8 -> (long) (c.i8(what) & 0xFF);
                case T_INT8 -> (long) c.i8(what);
                case T_UINT16 -> (long) (c.i16(what) & 0xFFFF);
                case T_INT16 -> (long) c.i16(what);
                case T_UINT32 -> Integer.toUnsignedLong(c.i32(what));
                case T_INT32 -> (long) c.i32(what);
                case T_UINT64, T_INT64 -> c.i64(what);
                case T_FLOAT32 -> (double) c.f32(what);
                case T_FLOAT64 -> c.f64(what);
                case T_BOOL -> readBool(what);
                case T_STRING -> c.string(what);
                case T_ARRAY -> readArray(key, depth);
                default -> throw c.fail("metadata key '" + key + "' has unknown value type "
                        + Integer.toUnsignedString(type));
            };
        }

        private boolean readBool(String what) {
            long at = c.pos;
            byte b = c.i8(what);
            if (b != 0 && b != 1) throw c.fail(what + ": boolean byte " + b + " at offset " + at + ", expected 0 or 1");
            return b == 1;
        }

        private Object readArray(String key, int depth) {
            if (depth >= MAX_NESTING) {
                throw c.fail("metadata key '" + key + "': arrays nested more than " + MAX_NESTING + " deep");
            }
            String what = "array of metadata key '" + key + "'";
            int et = c.i32(what + " element type");
            int size = switch (et) {
                case T_UINT8, T_INT8, T_BOOL -> 1;
                case T_UINT16, T_INT16 -> 2;
                case T_UINT32, T_INT32, T_FLOAT32 -> 4;
                case T_UINT64, T_INT64, T_FLOAT64, T_STRING -> 8;   // a string needs at least its 8-byte length
                case T_ARRAY -> 12;
                default -> throw c.fail("metadata key '" + key + "' is an array of unknown value type "
                        + Integer.toUnsignedString(et));
            };
            long count = c.count("metadata key '" + key + "': array length", size);
            if (count > Integer.MAX_VALUE - 8) throw c.fail("metadata key '" + key + "': array length " + count + " is too large");
            int n = (int) count;
            long p = c.pos;
            MemorySegment s = c.seg;
            Object result = switch (et) {
                case T_UINT8, T_INT8 -> {
                    int[] v = new int[n];
                    for (int i = 0; i < n; i++) {
                        byte b = s.get(ValueLayout.JAVA_BYTE, p + i);
                        v[i] = et == T_UINT8 ? b & 0xFF : b;
                    }
                    yield v;
                }
                case T_UINT16, T_INT16 -> {
                    int[] v = new int[n];
                    for (int i = 0; i < n; i++) {
                        short x = s.get(Cursor.I16, p + 2L * i);
                        v[i] = et == T_UINT16 ? x & 0xFFFF : x;
                    }
                    yield v;
                }
                case T_UINT32, T_INT32 -> {
                    int[] v = new int[n];
                    MemorySegment.copy(s, Cursor.I32, p, v, 0, n);
                    yield v;
                }
                case T_UINT64, T_INT64 -> {
                    long[] v = new long[n];
                    MemorySegment.copy(s, Cursor.I64, p, v, 0, n);
                    yield v;
                }
                case T_FLOAT32 -> {
                    float[] v = new float[n];
                    MemorySegment.copy(s, Cursor.F32, p, v, 0, n);
                    yield v;
                }
                case T_FLOAT64 -> {
                    double[] v = new double[n];
                    MemorySegment.copy(s, Cursor.F64, p, v, 0, n);
                    yield v;
                }
                case T_BOOL -> {
                    boolean[] v = new boolean[n];
                    for (int i = 0; i < n; i++) v[i] = readBool(what + " element " + i);
                    yield v;
                }
                case T_STRING -> {
                    String[] v = new String[n];
                    for (int i = 0; i < n; i++) v[i] = c.string(what + " element " + i);
                    yield v;
                }
                default -> {   // T_ARRAY
                    Object[] v = new Object[n];
                    for (int i = 0; i < n; i++) v[i] = readArray(key + "[" + i + "]", depth + 1);
                    yield v;
                }
            };
            // fixed-size elements were read in bulk (count() checked they fit); advance past them
            if (et != T_BOOL && et != T_STRING && et != T_ARRAY) c.pos = p + (long) n * size;
            return result;
        }

        private static long alignUp(long x, int alignment) {
            return (x + alignment - 1) / alignment * alignment;
        }

        private static String dims(long[] ne) {
            StringBuilder sb = new StringBuilder("ne [");
            for (int i = 0; i < ne.length; i++) sb.append(i == 0 ? "" : ", ").append(Long.toUnsignedString(ne[i]));
            return sb.append(']').toString();
        }

        private static String magicString(int magic) {
            StringBuilder hex = new StringBuilder("0x");
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 4; i++) {
                int b = (magic >>> (8 * i)) & 0xFF;
                hex.append(String.format("%02x", b));
                text.append(b >= 0x20 && b < 0x7F ? (char) b : '.');
            }
            return hex + " \"" + text + "\"";
        }
    }
}
