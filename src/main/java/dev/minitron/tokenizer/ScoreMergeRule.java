package dev.minitron.tokenizer;

/**
 * SentencePiece's (and llama.cpp's) BPE rule: two symbols merge when their concatenation is a piece of the
 * vocabulary (normal, user-defined or unused), with that piece's score as the priority.
 */
final class ScoreMergeRule implements MergeRule {
    private final Vocabulary vocab;

    ScoreMergeRule(Vocabulary vocab) {
        this.vocab = vocab;
    }

    @Override
    public Merge find(String text, int start, int mid, int end, int leftId, int rightId) {
        int id = vocab.id(text.substring(start, end));
        if (id < 0 || !TokenType.isText(vocab.type(id))) return null;
        return new Merge(id, vocab.score(id));
    }
}
