package dev.minitron.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * A minimal reader of the protobuf wire format over a byte array: tags, varints, fixed32 floats and
 * length-delimited fields (strings, bytes, nested messages), enough to read a SentencePiece model.
 * Reading past the end of the message throws {@link Malformed}.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    /** The input is not a well-formed protobuf message (truncated, bad wire type, overlong varint). */
    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message);
        }
    }

    private final byte[] data;
    private final int limit;
    private int pos;
    private int tag;

    ProtoReader(byte[] data) {
        this(data, 0, data.length);
    }

    private ProtoReader(byte[] data, int offset, int limit) {
        this.data = data;
        this.pos = offset;
        this.limit = limit;
    }

    /** Advances to the next field; false at the end of the message. */
    boolean next() throws Malformed {
        if (pos >= limit) return false;
        long key = readVarint();
        tag = (int) key;
        if (fieldNumber() == 0) throw new Malformed("field number 0 at byte " + pos);
        return true;
    }

    int fieldNumber() {
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    long readVarint() throws Malformed {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) throw new Malformed("truncated varint at byte " + pos);
            int b = data[pos++] & 0xFF;
            result |= (long) (b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new Malformed("varint longer than 10 bytes at byte " + pos);
    }

    int readInt() throws Malformed {
        expect(VARINT);
        return (int) readVarint();
    }

    boolean readBool() throws Malformed {
        expect(VARINT);
        return readVarint() != 0;
    }

    float readFloat() throws Malformed {
        expect(FIXED32);
        require(4);
        int bits = (data[pos] & 0xFF) | (data[pos + 1] & 0xFF) << 8 | (data[pos + 2] & 0xFF) << 16
                | (data[pos + 3] & 0xFF) << 24;
        pos += 4;
        return Float.intBitsToFloat(bits);
    }

    String readString() throws Malformed {
        int length = readLength();
        String s = new String(data, pos, length, StandardCharsets.UTF_8);
        pos += length;
        return s;
    }

    /** A reader over the nested message in the current length-delimited field. */
    ProtoReader readMessage() throws Malformed {
        int length = readLength();
        ProtoReader nested = new ProtoReader(data, pos, pos + length);
        pos += length;
        return nested;
    }

    /** Skips the current field's value. */
    void skip() throws Malformed {
        switch (wireType()) {
            case VARINT -> readVarint();
            case FIXED64 -> skipBytes(8);
            case LENGTH_DELIMITED -> skipBytes(readLength());
            case FIXED32 -> skipBytes(4);
            default -> throw new Malformed("unsupported wire type " + wireType() + " of field " + fieldNumber()
                    + " at byte " + pos);
        }
    }

    private int readLength() throws Malformed {
        expect(LENGTH_DELIMITED);
        long length = readVarint();
        if (length < 0 || length > limit - pos) {
            throw new Malformed("field " + fieldNumber() + " of " + length + " bytes runs past the end of its"
                    + " message (truncated file?) at byte " + pos);
        }
        return (int) length;
    }

    private void skipBytes(int n) throws Malformed {
        require(n);
        pos += n;
    }

    private void require(int n) throws Malformed {
        if (n > limit - pos) throw new Malformed("truncated field " + fieldNumber() + " at byte " + pos);
    }

    private void expect(int wireType) throws Malformed {
        if (wireType() != wireType) {
            throw new Malformed("field " + fieldNumber() + " has wire type " + wireType() + ", expected " + wireType);
        }
    }
}
