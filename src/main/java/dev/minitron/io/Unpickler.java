package dev.minitron.io;

import dev.minitron.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted reader for the {@code data.pkl} of a torch.save checkpoint. It interprets pickle opcodes as data
 * only: nothing is imported, called or instantiated. It knows exactly the opcodes that pickled state dicts use
 * (protocol 2, plus FRAME / SHORT_BINUNICODE / STACK_GLOBAL / MEMOIZE of protocol 4) and refuses every other
 * opcode by name.
 *
 * <p>Allowed globals (anything else, e.g. {@code os.system} or {@code builtins.eval}, is refused when the
 * GLOBAL opcode is read, before anything else happens):
 * <ul>
 *   <li>{@code torch._utils._rebuild_tensor_v2} - REDUCE with {@code (storage, storage_offset, size, stride,
 *       requires_grad, backward_hooks[, metadata])} yields a {@link TensorRef};</li>
 *   <li>{@code torch._utils._rebuild_parameter} - REDUCE with {@code (tensor, requires_grad, backward_hooks)}
 *       yields the tensor itself (what pickling an {@code nn.Parameter} writes);</li>
 *   <li>{@code torch.BFloat16Storage}, {@code torch.HalfStorage}, {@code torch.FloatStorage} - only as the
 *       storage type inside a persistent id {@code ('storage', type, key, location, numel)};</li>
 *   <li>{@code collections.OrderedDict} - REDUCE with {@code ()} yields an empty dict. BUILD is allowed only on
 *       such an OrderedDict with a dict (or None) state, and the state is dropped: that is the {@code _metadata}
 *       attribute (module versions) that a raw {@code model.state_dict()} carries.</li>
 * </ul>
 * Python values map to: str - String, int - Long, float - Double, bool - Boolean, None - null, tuple -
 * {@link Tuple}, list - ArrayList, dict - LinkedHashMap (keys must be str or int).
 */
final class Unpickler {

    /** A pickled tuple. */
    record Tuple(List<Object> items) {
        int size() { return items.size(); }
        Object get(int i) { return items.get(i); }
    }

    /** An allowed global; never resolved to anything executable. */
    record Global(String module, String name) {
        String qualified() { return module + "." + name; }
    }

    /** A storage named by a persistent id: {@code numel} elements of {@code dtype} in zip entry {@code data/key}. */
    record Storage(DType dtype, String type, String key, String location, long numel) {}

    /** The arguments of {@code _rebuild_tensor_v2}, not yet checked against the storage. */
    record TensorRef(Storage storage, long storageOffset, long[] size, long[] stride) {
        @Override public String toString() {
            return "TensorRef[" + storage + ", offset " + storageOffset + ", size " + Arrays.toString(size)
                    + ", stride " + Arrays.toString(stride) + "]";
        }
    }

    /** The result of REDUCE on {@code collections.OrderedDict}: the only object BUILD may be applied to. */
    static final class OrderedDict extends LinkedHashMap<Object, Object> {}

    private static final String TORCH_UTILS = "torch._utils";

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_BE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final MemorySegment in;
    private final String where;
    private long pos;
    private long opStart;
    private int op;

    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final HashMap<Long, Object> memo = new HashMap<>();

    /** @param where names the pickle in messages, e.g. {@code "model.bin: data.pkl"} */
    Unpickler(MemorySegment pickle, String where) {
        this.in = pickle;
        this.where = where;
    }

    /** Interprets the pickle up to STOP and returns the object it describes. */
    Object load() {
        while (true) {
            opStart = pos;
            op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v > 5) throw fail("uses pickle protocol " + v + "; at most 5 is known");
                }
                case 0x95 -> { // FRAME: a length hint only
                    long n = bytes(8).get(I64, 0);
                    if (n < 0) throw fail("has a negative FRAME length");
                }
                case 0x2e -> { // STOP
                    if (stack.isEmpty()) throw fail("ends (STOP) with an empty stack");
                    return stack.removeLast();
                }
                case 0x28 -> marks.add(stack.size()); // MARK
                case 0x7d -> stack.add(new LinkedHashMap<>()); // EMPTY_DICT
                case 0x5d -> stack.add(new ArrayList<>()); // EMPTY_LIST
                case 0x29 -> stack.add(new Tuple(List.of())); // EMPTY_TUPLE
                case 0x4e -> stack.add(null); // NONE
                case 0x88 -> stack.add(Boolean.TRUE); // NEWTRUE
                case 0x89 -> stack.add(Boolean.FALSE); // NEWFALSE
                case 0x4a -> stack.add((long) bytes(4).get(I32, 0)); // BININT
                case 0x4b -> stack.add((long) u8()); // BININT1
                case 0x4d -> stack.add((long) Short.toUnsignedInt(bytes(2).get(U16, 0))); // BININT2
                case 0x8a -> stack.add(long1(u8())); // LONG1
                case 0x47 -> stack.add(bytes(8).get(F64_BE, 0)); // BINFLOAT
                case 0x58 -> stack.add(utf8(u32Length())); // BINUNICODE
                case 0x8c -> stack.add(utf8(u8())); // SHORT_BINUNICODE
                case 0x54 -> stack.add(latin1(u32Length())); // BINSTRING
                case 0x55 -> stack.add(latin1(u8())); // SHORT_BINSTRING
                case 0x74 -> stack.add(new Tuple(Collections.unmodifiableList(popToMark()))); // TUPLE
                case 0x85 -> stack.add(tupleOf(1)); // TUPLE1
                case 0x86 -> stack.add(tupleOf(2)); // TUPLE2
                case 0x87 -> stack.add(tupleOf(3)); // TUPLE3
                case 0x71 -> memo.put((long) u8(), peek()); // BINPUT
                case 0x72 -> memo.put(u32Unsigned(), peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 0x68 -> stack.add(memoGet(u8())); // BINGET
                case 0x6a -> stack.add(memoGet(u32Unsigned())); // LONG_BINGET
                case 0x73 -> { // SETITEM
                    Object value = pop();
                    Object key = pop();
                    put(dictOnTop(), key, value);
                }
                case 0x75 -> { // SETITEMS
                    List<Object> items = popToMark();
                    if (items.size() % 2 != 0) throw fail("has SETITEMS with an odd number of items");
                    Map<Object, Object> d = dictOnTop();
                    for (int i = 0; i < items.size(); i += 2) put(d, items.get(i), items.get(i + 1));
                }
                case 0x61 -> { // APPEND
                    Object v = pop();
                    listOnTop().add(v);
                }
                case 0x65 -> { // APPENDS
                    List<Object> items = popToMark();
                    listOnTop().addAll(items);
                }
                case 0x63 -> stack.add(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("has STACK_GLOBAL on a " + typeName(module) + " and a " + typeName(name)
                                + " instead of two strings");
                    }
                    stack.add(global(m, n));
                }
                case 0x52 -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    stack.add(reduce(callable, args));
                }
                case 0x62 -> { // BUILD
                    Object state = pop();
                    Object target = peek();
                    if (!(target instanceof OrderedDict) || !(state == null || state instanceof Map)) {
                        throw fail("uses BUILD on a " + typeName(target) + " with a " + typeName(state)
                                + " state; BUILD is only allowed to attach metadata to an OrderedDict");
                    }
                    // The state (a raw state_dict's _metadata attribute) is deliberately dropped.
                }
                case 0x51 -> stack.add(persistentLoad(pop())); // BINPERSID
                default -> throw new ModelException(where + " uses pickle opcode " + opName(op) + " at byte "
                        + opStart + ", which is not allowed in a weights file");
            }
        }
    }

    // ---- globals and calls -------------------------------------------------------------------------------------

    private Global global(String module, String name) {
        String q = module + "." + name;
        switch (q) {
            case TORCH_UTILS + "._rebuild_tensor_v2", TORCH_UTILS + "._rebuild_parameter",
                 "torch.BFloat16Storage", "torch.HalfStorage", "torch.FloatStorage",
                 "collections.OrderedDict" -> {
                return new Global(module, name);
            }
            default -> { }
        }
        if (module.equals("torch") && name.endsWith("Storage") && name.length() > 7
                && name.chars().allMatch(Character::isLetterOrDigit)) {
            throw new ModelException(where + " references tensor storage type '" + q + "', which is not supported"
                    + " (only torch.BFloat16Storage, torch.HalfStorage and torch.FloatStorage tensors can be read)");
        }
        throw new ModelException(where + " references global '" + printable(q)
                + "', which is not allowed in a weights file");
    }

    private Object reduce(Object callable, Object args) {
        if (!(callable instanceof Global g)) {
            throw fail("uses REDUCE on a " + typeName(callable) + ", not on an allowed function");
        }
        if (!(args instanceof Tuple t)) {
            throw fail("calls '" + g.qualified() + "' with a " + typeName(args) + " instead of an argument tuple");
        }
        switch (g.qualified()) {
            case "collections.OrderedDict" -> {
                if (t.size() != 0) throw fail("calls collections.OrderedDict with " + t.size() + " arguments; expected ()");
                return new OrderedDict();
            }
            case TORCH_UTILS + "._rebuild_tensor_v2" -> {
                return rebuildTensor(t);
            }
            case TORCH_UTILS + "._rebuild_parameter" -> {
                if (t.size() != 3 || !(t.get(0) instanceof TensorRef tensor) || !(t.get(1) instanceof Boolean)
                        || !(t.get(2) instanceof Map)) {
                    throw fail("calls _rebuild_parameter with " + describe(t)
                            + "; expected (tensor, requires_grad, backward_hooks)");
                }
                return tensor;
            }
            default -> throw fail("calls '" + g.qualified() + "', which may only be used as a storage type");
        }
    }

    private TensorRef rebuildTensor(Tuple t) {
        boolean ok = (t.size() == 6 || (t.size() == 7 && (t.get(6) == null || t.get(6) instanceof Map<?, ?> m && m.isEmpty())))
                && t.get(0) instanceof Storage
                && t.get(1) instanceof Long
                && t.get(2) instanceof Tuple
                && t.get(3) instanceof Tuple
                && t.get(4) instanceof Boolean
                && t.get(5) instanceof Map;
        if (!ok) {
            throw fail("calls _rebuild_tensor_v2 with " + describe(t) + "; expected (storage, storage_offset: int,"
                    + " size: tuple, stride: tuple, requires_grad: bool, backward_hooks: OrderedDict)");
        }
        if (!((Map<?, ?>) t.get(5)).isEmpty()) throw fail("has a tensor with backward hooks");
        return new TensorRef((Storage) t.get(0), (Long) t.get(1), longs((Tuple) t.get(2), "size"),
                longs((Tuple) t.get(3), "stride"));
    }

    private long[] longs(Tuple t, String what) {
        long[] r = new long[t.size()];
        for (int i = 0; i < r.length; i++) {
            if (!(t.get(i) instanceof Long l)) throw fail("has a tensor " + what + " containing a " + typeName(t.get(i)));
            r[i] = l;
        }
        return r;
    }

    /** torch.save's persistent id for storages: {@code ('storage', StorageType, key, location, numel)}. */
    private Storage persistentLoad(Object pid) {
        if (pid instanceof Tuple t && t.size() == 5 && "storage".equals(t.get(0)) && t.get(1) instanceof Global g
                && t.get(2) instanceof String key && t.get(3) instanceof String location
                && t.get(4) instanceof Long numel) {
            DType dtype = switch (g.qualified()) {
                case "torch.BFloat16Storage" -> DType.BF16;
                case "torch.HalfStorage" -> DType.F16;
                case "torch.FloatStorage" -> DType.F32;
                default -> throw fail("has a persistent id whose storage type is '" + g.qualified() + "'");
            };
            if (numel < 0) throw fail("has a storage with negative size " + numel);
            return new Storage(dtype, g.qualified(), key, location, numel);
        }
        throw fail("has a persistent id that is " + describe(pid) + ", not ('storage', type, key, location, numel)");
    }

    // ---- stack, memo, containers -------------------------------------------------------------------------------

    private Object pop() {
        if (stack.isEmpty() || (!marks.isEmpty() && marks.getLast() == stack.size())) {
            throw fail("pops an empty stack");
        }
        return stack.removeLast();
    }

    private Object peek() {
        if (stack.isEmpty()) throw fail("reads the top of an empty stack");
        return stack.getLast();
    }

    private List<Object> popToMark() {
        if (marks.isEmpty()) throw fail("has no MARK for " + opName(op));
        int m = marks.removeLast();
        List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Tuple tupleOf(int n) {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return new Tuple(Collections.unmodifiableList(Arrays.asList(items)));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dictOnTop() {
        Object top = peek();
        if (!(top instanceof Map)) throw fail("uses " + opName(op) + " on a " + typeName(top) + ", not a dict");
        return (Map<Object, Object>) top;
    }

    @SuppressWarnings("unchecked")
    private List<Object> listOnTop() {
        Object top = peek();
        if (!(top instanceof ArrayList)) throw fail("uses " + opName(op) + " on a " + typeName(top) + ", not a list");
        return (List<Object>) top;
    }

    private void put(Map<Object, Object> d, Object key, Object value) {
        if (!(key instanceof String) && !(key instanceof Long)) {
            throw fail("has a dict key of type " + typeName(key) + "; only str and int keys are accepted");
        }
        d.put(key, value);
    }

    private Object memoGet(long i) {
        if (!memo.containsKey(i)) throw fail("reads memo entry " + i + ", which was never stored");
        return memo.get(i);
    }

    // ---- reading bytes -----------------------------------------------------------------------------------------

    private MemorySegment bytes(long n) {
        if (n < 0 || n > in.byteSize() - pos) {
            throw new ModelException(where + " is truncated: opcode " + opName(op) + " at byte " + opStart
                    + " needs " + n + " more bytes but only " + (in.byteSize() - pos) + " remain");
        }
        MemorySegment s = in.asSlice(pos, n);
        pos += n;
        return s;
    }

    private int u8() {
        if (pos >= in.byteSize()) {
            throw new ModelException(where + " is truncated: it ends at byte " + pos + " without a STOP opcode");
        }
        return Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, pos++));
    }

    private long u32Unsigned() {
        return Integer.toUnsignedLong(bytes(4).get(I32, 0));
    }

    private long u32Length() {
        long n = bytes(4).get(I32, 0);
        if (n < 0) throw fail("has a negative string length");
        return n;
    }

    private long long1(int n) {
        if (n > 8) throw fail("has an integer of " + n + " bytes; at most 8 are supported");
        byte[] b = bytes(n).toArray(ValueLayout.JAVA_BYTE);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | (b[i] & 0xFF);
        if (n > 0 && n < 8 && b[n - 1] < 0) v -= 1L << (8 * n); // sign-extend two's complement
        return v;
    }

    private String utf8(long n) {
        return new String(bytes(n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private String latin1(long n) {
        return new String(bytes(n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1);
    }

    /** A newline-terminated line (GLOBAL's module and name). */
    private String line() {
        long start = pos;
        long end = start;
        long limit = Math.min(in.byteSize(), start + 1024);
        while (end < limit && in.get(ValueLayout.JAVA_BYTE, end) != '\n') end++;
        if (end >= in.byteSize()) {
            throw new ModelException(where + " is truncated: GLOBAL at byte " + opStart + " has no end of line");
        }
        if (end >= limit) throw fail("has a GLOBAL name longer than 1024 bytes");
        String s = new String(in.asSlice(start, end - start).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        pos = end + 1;
        return s;
    }

    // ---- messages ----------------------------------------------------------------------------------------------

    private ModelException fail(String what) {
        return new ModelException(where + " is not a valid state dict: it " + what + " (opcode " + opName(op)
                + " at byte " + opStart + ")");
    }

    static String typeName(Object o) {
        return switch (o) {
            case null -> "None";
            case String _ -> "str";
            case Long _ -> "int";
            case Double _ -> "float";
            case Boolean _ -> "bool";
            case Tuple _ -> "tuple";
            case List<?> _ -> "list";
            case OrderedDict _ -> "OrderedDict";
            case Map<?, ?> _ -> "dict";
            case Global g -> "global " + g.qualified();
            case Storage _ -> "storage";
            case TensorRef _ -> "tensor";
            default -> o.getClass().getSimpleName();
        };
    }

    private static String describe(Object o) {
        if (o instanceof Tuple t) {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < t.size(); i++) {
                if (i > 0) sb.append(", ");
                Object x = t.get(i);
                sb.append(x instanceof String s ? "'" + printable(s) + "'" : typeName(x));
            }
            return sb.append(t.size() == 1 ? ",)" : ")").toString();
        }
        return "a " + typeName(o);
    }

    /** Caps length and escapes control characters so hostile names cannot garble a one-line message. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        if (sb.length() >= 200) sb.append("...");
        return sb.toString();
    }

    /** Opcode as {@code 0x81 (NEWOBJ)}. */
    static String opName(int op) {
        String name = switch (op) {
            case 0x28 -> "MARK"; case 0x2e -> "STOP"; case 0x30 -> "POP"; case 0x31 -> "POP_MARK";
            case 0x32 -> "DUP"; case 0x46 -> "FLOAT"; case 0x49 -> "INT"; case 0x4a -> "BININT";
            case 0x4b -> "BININT1"; case 0x4c -> "LONG"; case 0x4d -> "BININT2"; case 0x4e -> "NONE";
            case 0x50 -> "PERSID"; case 0x51 -> "BINPERSID"; case 0x52 -> "REDUCE"; case 0x53 -> "STRING";
            case 0x54 -> "BINSTRING"; case 0x55 -> "SHORT_BINSTRING"; case 0x56 -> "UNICODE";
            case 0x58 -> "BINUNICODE"; case 0x61 -> "APPEND"; case 0x62 -> "BUILD"; case 0x63 -> "GLOBAL";
            case 0x64 -> "DICT"; case 0x7d -> "EMPTY_DICT"; case 0x65 -> "APPENDS"; case 0x67 -> "GET";
            case 0x68 -> "BINGET"; case 0x69 -> "INST"; case 0x6a -> "LONG_BINGET"; case 0x6c -> "LIST";
            case 0x5d -> "EMPTY_LIST"; case 0x6f -> "OBJ"; case 0x70 -> "PUT"; case 0x71 -> "BINPUT";
            case 0x72 -> "LONG_BINPUT"; case 0x73 -> "SETITEM"; case 0x74 -> "TUPLE"; case 0x29 -> "EMPTY_TUPLE";
            case 0x75 -> "SETITEMS"; case 0x47 -> "BINFLOAT"; case 0x80 -> "PROTO"; case 0x81 -> "NEWOBJ";
            case 0x82 -> "EXT1"; case 0x83 -> "EXT2"; case 0x84 -> "EXT4"; case 0x85 -> "TUPLE1";
            case 0x86 -> "TUPLE2"; case 0x87 -> "TUPLE3"; case 0x88 -> "NEWTRUE"; case 0x89 -> "NEWFALSE";
            case 0x8a -> "LONG1"; case 0x8b -> "LONG4"; case 0x42 -> "BINBYTES"; case 0x43 -> "SHORT_BINBYTES";
            case 0x8c -> "SHORT_BINUNICODE"; case 0x8d -> "BINUNICODE8"; case 0x8e -> "BINBYTES8";
            case 0x8f -> "EMPTY_SET"; case 0x90 -> "ADDITEMS"; case 0x91 -> "FROZENSET"; case 0x92 -> "NEWOBJ_EX";
            case 0x93 -> "STACK_GLOBAL"; case 0x94 -> "MEMOIZE"; case 0x95 -> "FRAME"; case 0x96 -> "BYTEARRAY8";
            case 0x97 -> "NEXT_BUFFER"; case 0x98 -> "READONLY_BUFFER";
            default -> null;
        };
        String hex = String.format("0x%02x", op);
        return name == null ? hex + " (unknown)" : hex + " (" + name + ")";
    }
}
