package dev.minitron.tokenizer;

import java.util.HashMap;
import java.util.Map;

/**
 * Hugging Face's BPE rule: two tokens merge when the pair is listed in {@code merges}; earlier entries
 * (lower rank) merge first. The priority is the negated rank.
 */
final class RankMergeRule implements MergeRule {
    /** (left id, right id) packed in a long -> (rank, merged id) packed in a long. */
    private final Map<Long, Long> merges = new HashMap<>();

    /** Registers the merge of rank {@code rank}; a later duplicate of the same pair is ignored (HF keeps the first). */
    void add(int leftId, int rightId, int mergedId, int rank) {
        merges.putIfAbsent(pack(leftId, rightId), pack(rank, mergedId));
    }

    @Override
    public Merge find(String text, int start, int mid, int end, int leftId, int rightId) {
        if (leftId < 0 || rightId < 0) return null;
        Long value = merges.get(pack(leftId, rightId));
        if (value == null) return null;
        return new Merge((int) (long) value, -(double) (value >>> 32));
    }

    private static long pack(int high, int low) {
        return ((long) high << 32) | (low & 0xFFFFFFFFL);
    }
}
