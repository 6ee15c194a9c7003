package dev.minitron.tokenizer;

/**
 * Decides whether two adjacent symbols merge during BPE, into which token, and how urgently. The encoder
 * always applies the candidate with the highest priority first (leftmost on ties), as SentencePiece,
 * llama.cpp and Hugging Face tokenizers all do.
 */
interface MergeRule {
    /** A possible merge: the token it produces and its priority (higher merges first). */
    record Merge(int id, double priority) {}

    /**
     * The merge of the symbols {@code text[start, mid)} (token {@code leftId}) and {@code text[mid, end)}
     * (token {@code rightId}); a token id is -1 for a symbol that is not in the vocabulary.
     *
     * @return the merge, or null when the two symbols do not merge
     */
    Merge find(String text, int start, int mid, int end, int leftId, int rightId);
}
