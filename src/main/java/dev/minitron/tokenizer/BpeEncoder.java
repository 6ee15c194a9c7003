package dev.minitron.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-pair encoding of one normalized string, the way SentencePiece's BPE model does it: the text starts as
 * one symbol per code point (user-defined pieces as one frozen symbol), kept in a doubly linked list; every
 * adjacent pair that can merge sits in a priority queue; the best pair is merged and its new neighbours are
 * queued, until no pair can merge. This takes O(n log n), not O(n^2), so long prompts stay fast.
 *
 * <p>Final symbols become their token id; a symbol that is not a token (or is an unused piece that came from
 * a merge) is split back into the two symbols it was merged from; an unknown character becomes its UTF-8
 * bytes as {@code <0xNN>} tokens when byte fallback is on, else the unknown token (runs of unknowns fused
 * into one, as SentencePiece and Hugging Face do).
 */
final class BpeEncoder {
    private record Candidate(double priority, int left, int right, int size, int id) {}

    private static final Comparator<Candidate> ORDER = Comparator
            .comparingDouble(Candidate::priority).reversed()
            .thenComparingInt(Candidate::left);

    private final Vocabulary vocab;
    private final MergeRule rule;
    private final boolean byteFallback;
    private final int unkId;

    BpeEncoder(Vocabulary vocab, MergeRule rule, boolean byteFallback, int unkId) {
        this.vocab = vocab;
        this.rule = rule;
        this.byteFallback = byteFallback;
        this.unkId = unkId;
    }

    /** The id of a piece that stands for its own text (not control, unknown or byte), or -1. */
    private int textId(String piece) {
        int token = vocab.id(piece);
        return token >= 0 && TokenType.isText(vocab.type(token)) ? token : -1;
    }

    /** Appends the tokens of {@code text} (already normalized) to {@code out}. */
    void encode(String text, IntList out) {
        if (text.isEmpty()) return;
        new Run(text).encode(out);
    }

    /** The mutable state of encoding one string. */
    private final class Run {
        private final String text;
        private final int[] start;
        private final int[] end;
        private final int[] id;
        private final int[] prev;
        private final int[] next;
        private final boolean[] frozen;
        private final PriorityQueue<Candidate> queue = new PriorityQueue<>(ORDER);
        /** For merged texts that are unused pieces: the two texts they were merged from. */
        private final Map<String, String[]> splits = new HashMap<>();

        Run(String text) {
            this.text = text;
            int n = text.length();
            start = new int[n];
            end = new int[n];
            id = new int[n];
            prev = new int[n];
            next = new int[n];
            frozen = new boolean[n];
            int count = 0;
            for (int pos = 0; pos < n; ) {
                int userLength = vocab.matchUserDefined(text, pos);
                int stop = userLength > 0 ? pos + userLength : pos + Character.charCount(text.codePointAt(pos));
                start[count] = pos;
                end[count] = stop;
                id[count] = textId(text.substring(pos, stop));
                frozen[count] = userLength > 0;
                prev[count] = count - 1;
                next[count] = count + 1;
                count++;
                pos = stop;
            }
            next[count - 1] = -1;
            for (int i = 0; i + 1 < count; i++) offer(i, i + 1);
        }

        void encode(IntList out) {
            while (!queue.isEmpty()) {
                Candidate c = queue.poll();
                if (!isCurrent(c)) continue;
                merge(c);
            }
            for (int s = 0; s >= 0; s = next[s]) emit(s, out);
        }

        /** Whether a queued candidate still describes two adjacent live symbols of the same extent. */
        private boolean isCurrent(Candidate c) {
            return start[c.left] >= 0 && start[c.right] >= 0 && next[c.left] == c.right
                    && end[c.right] - start[c.left] == c.size;
        }

        private void merge(Candidate c) {
            int left = c.left;
            int right = c.right;
            if (vocab.type(c.id) == TokenType.UNUSED) {
                splits.putIfAbsent(text.substring(start[left], end[right]), new String[] {
                        text.substring(start[left], end[left]), text.substring(start[right], end[right])});
            }
            end[left] = end[right];
            id[left] = c.id;
            start[right] = -1;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            offer(prev[left], left);
            offer(left, next[left]);
        }

        private void offer(int left, int right) {
            if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
            MergeRule.Merge m = rule.find(text, start[left], end[left], end[right], id[left], id[right]);
            if (m != null) queue.add(new Candidate(m.priority(), left, right, end[right] - start[left], m.id()));
        }

        private void emit(int s, IntList out) {
            int token = id[s];
            if (token >= 0 && vocab.type(token) != TokenType.UNUSED) {
                out.add(token);
            } else {
                emitText(text.substring(start[s], end[s]), out);
            }
        }

        private void emitText(String piece, IntList out) {
            int token = textId(piece);
            if (token >= 0 && vocab.type(token) != TokenType.UNUSED) {
                out.add(token);
                return;
            }
            String[] parts = splits.get(piece);
            if (parts != null) {
                emitText(parts[0], out);
                emitText(parts[1], out);
            } else {
                emitUnknown(piece, out);
            }
        }

        private void emitUnknown(String piece, IntList out) {
            if (byteFallback) {
                byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
                boolean allBytes = true;
                for (byte b : bytes) allBytes &= vocab.byteId(b & 0xFF) >= 0;
                if (allBytes) {
                    for (byte b : bytes) out.add(vocab.byteId(b & 0xFF));
                    return;
                }
            }
            if (unkId < 0) {
                throw new IllegalStateException("cannot encode '" + piece + "': no unknown token and no byte pieces");
            }
            if (out.size() == 0 || out.last() != unkId) out.add(unkId);
        }
    }
}
