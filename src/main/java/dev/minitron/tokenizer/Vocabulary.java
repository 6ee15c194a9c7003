package dev.minitron.tokenizer;

import dev.minitron.io.ModelException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pieces of a tokenizer with their scores and types, plus the lookups encoding needs: piece text to id
 * (a hash map, fine for 256000 pieces), byte value to its {@code <0xNN>} piece, and the user-defined symbols
 * that are matched whole in the input.
 */
final class Vocabulary {
    private final String[] pieces;
    private final float[] scores;
    private final int[] types;
    private final Map<String, Integer> ids;
    private final int[] byteIds = new int[256];
    /** User-defined pieces by first code point, longest first. */
    private final Map<Integer, String[]> userDefined = new HashMap<>();

    /**
     * @param source names the file (or metadata) in error messages
     * @param types  {@link TokenType} codes; 0 (undefined) is read as normal
     */
    Vocabulary(String source, String[] pieces, float[] scores, int[] types) {
        if (pieces.length == 0) throw new ModelException(source + ": the vocabulary is empty");
        if (scores.length != pieces.length || types.length != pieces.length) {
            throw new ModelException(source + ": " + pieces.length + " pieces but " + scores.length
                    + " scores and " + types.length + " token types");
        }
        this.pieces = pieces;
        this.scores = scores;
        this.types = types;
        this.ids = HashMap.newHashMap(pieces.length);
        Arrays.fill(byteIds, -1);
        Map<Integer, List<String>> userByFirst = new HashMap<>();
        for (int id = 0; id < pieces.length; id++) {
            String piece = pieces[id];
            if (piece == null) throw new ModelException(source + ": token " + id + " has no text");
            if (types[id] == 0) types[id] = TokenType.NORMAL;
            if (types[id] < TokenType.NORMAL || types[id] > TokenType.BYTE) {
                throw new ModelException(source + ": token " + id + " has unknown type " + types[id]);
            }
            ids.putIfAbsent(piece, id);
            if (types[id] == TokenType.BYTE) {
                int value = parseBytePiece(piece);
                if (value < 0) {
                    throw new ModelException(source + ": byte token " + id + " is '" + piece + "', expected <0xNN>");
                }
                if (byteIds[value] < 0) byteIds[value] = id;
            } else if (types[id] == TokenType.USER_DEFINED && !piece.isEmpty()) {
                userByFirst.computeIfAbsent(piece.codePointAt(0), k -> new ArrayList<>()).add(piece);
            }
        }
        userByFirst.forEach((first, list) -> userDefined.put(first,
                list.stream().sorted(Comparator.comparingInt(String::length).reversed()).toArray(String[]::new)));
    }

    /** The byte value of a piece spelled {@code <0xNN>} (two hex digits), or -1. */
    static int parseBytePiece(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        int hi = Character.digit(piece.charAt(3), 16);
        int lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    int size() {
        return pieces.length;
    }

    String piece(int id) {
        return pieces[id];
    }

    float score(int id) {
        return scores[id];
    }

    int type(int id) {
        return types[id];
    }

    /** Changes the type of a token (used to mark the unknown token whatever type its source gave it). */
    void setType(int id, int type) {
        types[id] = type;
    }

    /** The id of a piece, or -1 when it is not in the vocabulary. */
    int id(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    /** The id of the {@code <0xNN>} piece for a byte value, or -1. */
    int byteId(int value) {
        return byteIds[value];
    }

    /** The byte value of a {@link TokenType#BYTE} token. */
    int byteValue(int id) {
        return parseBytePiece(pieces[id]);
    }

    /** Length in chars of the longest user-defined piece starting at {@code pos} of {@code text}, or 0. */
    int matchUserDefined(String text, int pos) {
        if (userDefined.isEmpty()) return 0;
        String[] candidates = userDefined.get(text.codePointAt(pos));
        if (candidates == null) return 0;
        for (String candidate : candidates) {
            if (text.startsWith(candidate, pos)) return candidate.length();
        }
        return 0;
    }
}
