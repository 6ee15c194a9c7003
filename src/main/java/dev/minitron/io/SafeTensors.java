package dev.minitron.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.tensor.DType;
import dev.minitron.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header mapping each tensor name
 * to {@code {dtype, shape, data_offsets: [begin, end]}} (offsets relative to the end of the header), then the raw
 * data. The file is memory-mapped; every tensor is checked (known dtype, size = shape x dtype, inside the file,
 * no two tensors overlapping) before a view is handed out.
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** Upper bound on the JSON header, as in the reference implementation (100 MB). */
    private static final long MAX_HEADER = 100_000_000L;

    public static Map<String, Tensor> read(Path file) {
        MemorySegment seg = MappedFile.map(file);
        long size = seg.byteSize();
        if (size < 8) throw new ModelException(file + ": truncated safetensors file (" + size + " bytes, no header)");
        long headerLen = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen <= 0 || headerLen > MAX_HEADER) {
            throw new ModelException(file + ": safetensors header length " + headerLen + " is not plausible");
        }
        if (8 + headerLen > size) {
            throw new ModelException(file + ": safetensors header of " + headerLen + " bytes runs past the end of the file ("
                    + size + " bytes); the file is truncated or not safetensors");
        }
        byte[] hb = seg.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = new ObjectMapper().readTree(new String(hb, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelException(file + ": safetensors header is not valid JSON");
        }
        if (header == null || !header.isObject()) throw new ModelException(file + ": safetensors header is not a JSON object");
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        List<String> rangeNames = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (name.equals("__metadata__")) continue;
            JsonNode t = e.getValue();
            String dt = t.path("dtype").asText("");
            DType dtype = DType.fromSafetensors(dt);
            if (dtype == null) {
                throw new ModelException(file + ": tensor '" + name + "' has dtype '" + dt + "'; supported: F32, F16, BF16");
            }
            JsonNode sh = t.path("shape");
            JsonNode off = t.path("data_offsets");
            if (!sh.isArray() || !off.isArray() || off.size() != 2) {
                throw new ModelException(file + ": tensor '" + name + "' lacks a shape or [begin, end] data_offsets");
            }
            long[] shape = new long[sh.size()];
            long n = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = sh.get(i).asLong(-1);
                if (shape[i] < 0 || !sh.get(i).canConvertToLong()) {
                    throw new ModelException(file + ": tensor '" + name + "' has an invalid shape " + sh);
                }
                try {
                    n = Math.multiplyExact(n, shape[i]);
                } catch (ArithmeticException overflow) {
                    throw new ModelException(file + ": tensor '" + name + "' has an impossibly large shape " + sh);
                }
            }
            long begin = off.get(0).asLong(-1), end = off.get(1).asLong(-1);
            if (begin >= 0 && end >= 0 && end < begin) {
                throw new ModelException(file + ": tensor '" + name + "' has data_offsets [" + begin + ", " + end
                        + "] that end before they begin");
            }
            if (begin < 0 || end > dataSize) {
                throw new ModelException(file + ": tensor '" + name + "' has data_offsets [" + begin + ", " + end
                        + "] outside the " + dataSize + " data bytes of the file");
            }
            if (n > Long.MAX_VALUE / 8) throw new ModelException(file + ": tensor '" + name + "' has an impossibly large shape " + sh);
            long expected = dtype.bytesFor(n);
            if (end - begin != expected) {
                throw new ModelException(file + ": tensor '" + name + "' is " + (end - begin) + " bytes but " + dtype
                        + " " + sh + " needs " + expected);
            }
            ranges.add(new long[]{begin, end});
            rangeNames.add(name);
            out.put(name, new Tensor(name, dtype, shape, seg.asSlice(dataStart + begin, end - begin)));
        }
        checkOverlap(file, ranges, rangeNames);
        return out;
    }

    /**
     * Refuses two tensors whose byte ranges intersect (a header that lies about offsets). Ranges are visited by
     * start; each is compared with the one reaching furthest so far, so an empty tensor in between hides nothing.
     */
    static void checkOverlap(Path file, List<long[]> ranges, List<String> names) {
        Integer[] order = new Integer[ranges.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Long.compare(ranges.get(a)[0], ranges.get(b)[0]));
        int furthest = -1;
        for (int i : order) {
            long[] cur = ranges.get(i);
            if (cur[1] == cur[0]) continue; // empty: occupies no bytes
            if (furthest >= 0 && cur[0] < ranges.get(furthest)[1]) {
                throw new ModelException(file + ": tensors '" + names.get(furthest) + "' and '" + names.get(i)
                        + "' overlap in the file");
            }
            if (furthest < 0 || cur[1] > ranges.get(furthest)[1]) furthest = i;
        }
    }
}
