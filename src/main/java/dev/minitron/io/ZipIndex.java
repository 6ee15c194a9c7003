package dev.minitron.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip file that lies in a memory segment, read without {@code java.util.zip} so that
 * the bytes of a STORED entry can be handed out as a slice of the mapping (no copy, no inflation).
 *
 * <p>Handles ZIP64 (the ZIP64 end-of-central-directory record and locator, and the ZIP64 extra field of
 * central directory headers), which torch.save writes for every file and real multi-GB checkpoints need. The
 * data offset of an entry is computed from its <em>local</em> header, whose extra field differs from the
 * central one (torch pads it so that tensor data is 64-byte aligned). Multi-disk archives and encrypted entries
 * are refused.
 */
final class ZipIndex {

    /** One entry of the central directory. {@code localHeader} is the offset of its local file header. */
    record Entry(String name, int method, int flags, long compressedSize, long size, long localHeader) {}

    private static final int SIG_LOCAL = 0x04034b50;
    private static final int SIG_CENTRAL = 0x02014b50;
    private static final int SIG_EOCD = 0x06054b50;
    private static final int SIG_ZIP64_EOCD = 0x06064b50;
    private static final int SIG_ZIP64_LOCATOR = 0x07064b50;
    private static final int EOCD_SIZE = 22;
    private static final int CENTRAL_SIZE = 46;
    private static final int LOCAL_SIZE = 30;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment seg;
    private final String file;
    private final Map<String, Entry> entries;

    private ZipIndex(MemorySegment seg, String file, Map<String, Entry> entries) {
        this.seg = seg;
        this.file = file;
        this.entries = entries;
    }

    /** Entries by name, in central directory order. */
    Map<String, Entry> entries() { return entries; }

    Entry get(String name) { return entries.get(name); }

    /**
     * The bytes of a STORED entry, as a slice of the segment. Compressed or encrypted entries, and entries that
     * reach past the end of the file, are refused.
     */
    MemorySegment data(Entry e) {
        if (e.method() != 0) {
            throw new ModelException(file + ": entry '" + e.name() + "' is compressed (method " + e.method()
                    + "); only stored entries can be memory-mapped");
        }
        if (e.compressedSize() != e.size()) {
            throw new ModelException(file + ": entry '" + e.name() + "' is stored but its compressed size "
                    + e.compressedSize() + " differs from its size " + e.size() + "; the zip file is damaged");
        }
        long h = e.localHeader();
        if (h < 0 || h > seg.byteSize() - LOCAL_SIZE || u32(h) != SIG_LOCAL) {
            throw new ModelException(file + ": entry '" + e.name() + "': no local file header at offset " + h
                    + "; the zip file is damaged");
        }
        long start = h + LOCAL_SIZE + u16(h + 26) + u16(h + 28);
        if (start > seg.byteSize() || e.size() > seg.byteSize() - start) {
            throw new ModelException(file + ": entry '" + e.name() + "' (" + e.size() + " bytes at offset " + start
                    + ") reaches past the end of the file (" + seg.byteSize() + " bytes); the file is truncated");
        }
        return seg.asSlice(start, e.size());
    }

    static ZipIndex read(MemorySegment seg, String file) {
        long size = seg.byteSize();
        long eocd = findEocd(seg);
        if (eocd < 0) {
            if (size >= 4 && (seg.get(U32, 0) == SIG_LOCAL)) {
                throw new ModelException(file + ": zip file is truncated or damaged (no end of central directory"
                        + " record found)");
            }
            if (size >= 2 && seg.get(ValueLayout.JAVA_BYTE, 0) == (byte) 0x80) {
                throw new ModelException(file + ": not a zip file; this looks like the legacy torch.save format"
                        + " (PyTorch < 1.6), which is not supported; re-save it with a newer PyTorch");
            }
            throw new ModelException(file + ": not a zip file (a torch.save checkpoint is a zip archive)");
        }
        ZipIndex z = new ZipIndex(seg, file, Map.of());
        int disk = z.u16(eocd + 4);
        int cdDisk = z.u16(eocd + 6);
        long count = z.u16(eocd + 10);
        long cdSize = z.u32(eocd + 12) & 0xFFFFFFFFL;
        long cdOffset = z.u32(eocd + 16) & 0xFFFFFFFFL;

        long loc = eocd - 20;
        if (loc >= 0 && seg.get(U32, loc) == SIG_ZIP64_LOCATOR) {
            long rec = z.u64(loc + 8);
            if (rec < 0 || rec > size - 56 || seg.get(U32, rec) != SIG_ZIP64_EOCD) {
                throw new ModelException(file + ": ZIP64 end of central directory record not found at offset "
                        + rec + "; the zip file is damaged");
            }
            disk = z.u32(rec + 16);
            cdDisk = z.u32(rec + 20);
            count = z.u64(rec + 32);
            cdSize = z.u64(rec + 40);
            cdOffset = z.u64(rec + 48);
        } else if (count == 0xFFFF || cdSize == 0xFFFFFFFFL || cdOffset == 0xFFFFFFFFL) {
            throw new ModelException(file + ": zip file needs ZIP64 but has no ZIP64 end of central directory"
                    + " locator; the file is damaged or truncated");
        }
        if (disk != 0 || cdDisk != 0) {
            throw new ModelException(file + ": multi-part (spanned) zip files are not supported");
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > size || cdSize > size - cdOffset) {
            throw new ModelException(file + ": central directory (offset " + cdOffset + ", " + cdSize
                    + " bytes) lies outside the file (" + size + " bytes); the file is truncated or damaged");
        }
        if (count < 0 || count > cdSize / CENTRAL_SIZE) {
            throw new ModelException(file + ": central directory claims " + count + " entries in " + cdSize
                    + " bytes; the zip file is damaged");
        }

        Map<String, Entry> entries = new LinkedHashMap<>();
        long p = cdOffset;
        long cdEnd = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            if (p > cdEnd - CENTRAL_SIZE || seg.get(U32, p) != SIG_CENTRAL) {
                throw new ModelException(file + ": central directory entry " + i + " at offset " + p
                        + " is damaged");
            }
            int flags = z.u16(p + 8);
            int method = z.u16(p + 10);
            long csize = z.u32(p + 20) & 0xFFFFFFFFL;
            long usize = z.u32(p + 24) & 0xFFFFFFFFL;
            int nameLen = z.u16(p + 28);
            int extraLen = z.u16(p + 30);
            int commentLen = z.u16(p + 32);
            int startDisk = z.u16(p + 34);
            long lho = z.u32(p + 42) & 0xFFFFFFFFL;
            long next = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
            if (next > cdEnd) {
                throw new ModelException(file + ": central directory entry " + i + " runs past the end of the"
                        + " central directory; the zip file is damaged");
            }
            byte[] nb = seg.asSlice(p + CENTRAL_SIZE, nameLen).toArray(ValueLayout.JAVA_BYTE);
            String name = new String(nb, StandardCharsets.UTF_8);

            // ZIP64 extended information: present fields are exactly those whose 32-bit value is all ones.
            long x = p + CENTRAL_SIZE + nameLen;
            long xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                int id = z.u16(x);
                int len = z.u16(x + 2);
                long body = x + 4;
                if (body + len > xEnd) break;
                if (id == 0x0001) {
                    long q = body;
                    long qEnd = body + len;
                    if (usize == 0xFFFFFFFFL) { usize = zip64Field(z, q, qEnd, name); q += 8; }
                    if (csize == 0xFFFFFFFFL) { csize = zip64Field(z, q, qEnd, name); q += 8; }
                    if (lho == 0xFFFFFFFFL) { lho = zip64Field(z, q, qEnd, name); q += 8; }
                    if (startDisk == 0xFFFF && q + 4 <= qEnd) startDisk = z.u32(q);
                }
                x = body + len;
            }
            if (startDisk != 0) {
                throw new ModelException(file + ": entry '" + name + "' lies on another disk of a multi-part zip");
            }
            if ((flags & 1) != 0) {
                throw new ModelException(file + ": entry '" + name + "' is encrypted");
            }
            if (usize < 0 || csize < 0 || lho < 0) {
                throw new ModelException(file + ": entry '" + name + "' has an impossible size or offset");
            }
            if (entries.putIfAbsent(name, new Entry(name, method, flags, csize, usize, lho)) != null) {
                throw new ModelException(file + ": zip file contains entry '" + name + "' twice");
            }
            p = next;
        }
        return new ZipIndex(seg, file, Collections.unmodifiableMap(entries));
    }

    private static long zip64Field(ZipIndex z, long q, long end, String name) {
        if (q + 8 > end) {
            throw new ModelException(z.file + ": entry '" + name + "' has a short ZIP64 extra field");
        }
        return z.u64(q);
    }

    /** Offset of the end-of-central-directory record, searching back over a possible archive comment; -1 if none. */
    private static long findEocd(MemorySegment seg) {
        long size = seg.byteSize();
        long last = size - EOCD_SIZE;
        long first = Math.max(0, last - 0xFFFF);
        for (long p = last; p >= first; p--) {
            if (seg.get(ValueLayout.JAVA_BYTE, p) == 0x50 && seg.get(U32, p) == SIG_EOCD) {
                int commentLen = Short.toUnsignedInt(seg.get(U16, p + 20));
                if (p + EOCD_SIZE + commentLen <= size) return p;
            }
        }
        return -1;
    }

    private int u16(long p) {
        check(p, 2);
        return Short.toUnsignedInt(seg.get(U16, p));
    }

    private int u32(long p) {
        check(p, 4);
        return seg.get(U32, p);
    }

    private long u64(long p) {
        check(p, 8);
        return seg.get(U64, p);
    }

    private void check(long p, int n) {
        if (p < 0 || p > seg.byteSize() - n) {
            throw new ModelException(file + ": zip structure points to offset " + p + ", past the end of the file ("
                    + seg.byteSize() + " bytes); the file is truncated or damaged");
        }
    }
}
