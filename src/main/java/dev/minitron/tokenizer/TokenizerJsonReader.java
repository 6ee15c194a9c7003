package dev.minitron.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.minitron.io.ModelException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Reads a Hugging Face {@code tokenizer.json} whose model is BPE (with byte fallback) into a {@link Tokenizer}.
 * Understood: {@code model} (vocab, merges as "a b" strings or [a, b] pairs, unk_token, byte_fallback,
 * ignore_merges), {@code added_tokens} (special ones become control tokens, others user-defined),
 * the normalizers Prepend("▁"), Replace(" ", "▁") and Sequence of them, the Metaspace pre-tokenizer, and a
 * TemplateProcessing post-processor (whether BOS / EOS are added). Other normalizers or pre-tokenizers are
 * rejected rather than silently giving different ids.
 *
 * <p>Merges are applied by rank, as Hugging Face does; token scores are derived from the ranks (see
 * {@link Tokenizer#score}).
 */
final class TokenizerJsonReader {
    private final Path file;
    private boolean addDummyPrefix;
    private boolean escapeWhitespaces;
    private boolean splitWords;

    private TokenizerJsonReader(Path file) {
        this.file = file;
    }

    static Tokenizer read(Path file) {
        return new TokenizerJsonReader(file).parse(Json.read(file));
    }

    private Tokenizer parse(JsonNode root) {
        if (!root.isObject()) throw error("expected a JSON object");
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) throw error("missing \"model\"");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) throw error("model type " + type + " is not supported (only BPE)");
        if (!model.path("continuing_subword_prefix").isNull() && model.has("continuing_subword_prefix")
                || !model.path("end_of_word_suffix").isNull() && model.has("end_of_word_suffix")) {
            throw error("BPE continuing_subword_prefix / end_of_word_suffix are not supported");
        }
        JsonNode vocabNode = model.get("vocab");
        if (vocabNode == null || !vocabNode.isObject()) throw error("missing \"model.vocab\"");
        JsonNode mergesNode = model.get("merges");
        if (mergesNode == null || !mergesNode.isArray()) throw error("missing \"model.merges\"");
        JsonNode added = root.path("added_tokens");

        String[] pieces = readPieces(vocabNode, added);
        int[] types = new int[pieces.length];
        Arrays.fill(types, TokenType.NORMAL);
        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        if (byteFallback) {
            for (int id = 0; id < pieces.length; id++) {
                if (Vocabulary.parseBytePiece(pieces[id]) >= 0) types[id] = TokenType.BYTE;
            }
        }
        for (JsonNode token : added) {
            types[token.path("id").asInt()] = token.path("special").asBoolean(false)
                    ? TokenType.CONTROL : TokenType.USER_DEFINED;
        }
        float[] scores = new float[pieces.length];
        Vocabulary vocab = new Vocabulary(file.toString(), pieces, scores, types);
        RankMergeRule rule = readMerges(mergesNode, vocab, scores);

        readNormalizer(root.get("normalizer"));
        readPreTokenizer(root.get("pre_tokenizer"));
        Normalizer normalizer = new Normalizer(addDummyPrefix, false, escapeWhitespaces);

        int unkId = -1;
        JsonNode unk = model.get("unk_token");
        if (unk != null && !unk.isNull()) {
            unkId = vocab.id(unk.asText());
            if (unkId < 0) throw error("unk_token '" + unk.asText() + "' is not in the vocabulary");
        }
        Tokenizer.Specials specials = readPostProcessor(root.get("post_processor"), vocab, unkId);
        return new Tokenizer(file.toString(), vocab, normalizer, rule, byteFallback, splitWords,
                model.path("ignore_merges").asBoolean(false), " \u2047 ", specials);
    }

    /** Pieces by id from the vocab and added tokens; every id below the largest must be present. */
    private String[] readPieces(JsonNode vocabNode, JsonNode added) {
        int size = 0;
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw error("vocab entry '" + e.getKey() + "' has id " + e.getValue() + ", expected a token id");
            }
            size = Math.max(size, e.getValue().asInt() + 1);
        }
        for (JsonNode token : added) {
            if (!token.path("id").canConvertToInt() || token.path("id").asInt() < 0 || !token.has("content")) {
                throw error("added token " + token + " needs an id and a content");
            }
            size = Math.max(size, token.path("id").asInt() + 1);
        }
        String[] pieces = new String[size];
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) pieces[e.getValue().asInt()] = e.getKey();
        for (JsonNode token : added) pieces[token.path("id").asInt()] = token.path("content").asText();
        for (int id = 0; id < size; id++) {
            if (pieces[id] == null) throw error("no token has id " + id);
        }
        return pieces;
    }

    /** The merge table; also sets each merged token's score to minus the rank of its first merge. */
    private RankMergeRule readMerges(JsonNode mergesNode, Vocabulary vocab, float[] scores) {
        RankMergeRule rule = new RankMergeRule();
        boolean[] scored = new boolean[vocab.size()];
        int rank = 0;
        for (JsonNode merge : mergesNode) {
            String left;
            String right;
            if (merge.isTextual()) {
                String text = merge.asText();
                int space = text.indexOf(' ');
                if (space <= 0 || space == text.length() - 1) throw error("merge " + rank + " '" + text + "' is not 'a b'");
                left = text.substring(0, space);
                right = text.substring(space + 1);
            } else if (merge.isArray() && merge.size() == 2) {
                left = merge.get(0).asText();
                right = merge.get(1).asText();
            } else {
                throw error("merge " + rank + " is " + merge + ", expected \"a b\" or [a, b]");
            }
            int leftId = vocab.id(left);
            int rightId = vocab.id(right);
            int mergedId = vocab.id(left + right);
            if (leftId < 0 || rightId < 0 || mergedId < 0) {
                throw error("merge " + rank + " (" + left + " + " + right + ") uses a token that is not in the vocabulary");
            }
            rule.add(leftId, rightId, mergedId, rank);
            if (!scored[mergedId]) {
                scored[mergedId] = true;
                scores[mergedId] = -rank;
            }
            rank++;
        }
        return rule;
    }

    private void readNormalizer(JsonNode node) {
        if (node == null || node.isNull()) return;
        String type = node.path("type").asText();
        switch (type) {
            case "Sequence" -> node.path("normalizers").forEach(this::readNormalizer);
            case "Prepend" -> {
                if (!node.path("prepend").asText().equals("\u2581")) throw error("unsupported Prepend normalizer " + node);
                addDummyPrefix = true;
            }
            case "Replace" -> {
                if (!node.path("pattern").path("String").asText("").equals(" ")
                        || !node.path("content").asText().equals("\u2581")) {
                    throw error("unsupported Replace normalizer " + node);
                }
                escapeWhitespaces = true;
            }
            default -> throw error("normalizer type " + type + " is not supported");
        }
    }

    private void readPreTokenizer(JsonNode node) {
        if (node == null || node.isNull()) return;
        String type = node.path("type").asText();
        switch (type) {
            case "Sequence" -> node.path("pretokenizers").forEach(this::readPreTokenizer);
            case "Metaspace" -> {
                if (!node.path("replacement").asText("\u2581").equals("\u2581")) {
                    throw error("unsupported Metaspace replacement " + node.path("replacement"));
                }
                escapeWhitespaces = true;
                String scheme = node.has("prepend_scheme") ? node.path("prepend_scheme").asText()
                        : node.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                if (!scheme.equals("never")) addDummyPrefix = true;
                splitWords = node.path("split").asBoolean(true);
            }
            default -> throw error("pre_tokenizer type " + type + " is not supported");
        }
    }

    /**
     * BOS / EOS: the special tokens a TemplateProcessing "single" template puts before / after the sequence
     * (and then added by default); without one, the ids of "&lt;s&gt;" and "&lt;/s&gt;", not added.
     */
    private Tokenizer.Specials readPostProcessor(JsonNode node, Vocabulary vocab, int unkId) {
        int bos = vocab.id("<s>");
        int eos = vocab.id("</s>");
        boolean addBos = false;
        boolean addEos = false;
        if (node != null && node.path("type").asText().equals("TemplateProcessing")) {
            JsonNode single = node.path("single");
            for (int i = 0; i < single.size(); i++) {
                JsonNode special = single.get(i).get("SpecialToken");
                if (special == null) continue;
                int id = vocab.id(special.path("id").asText());
                if (id < 0) throw error("post_processor special token " + special.path("id") + " is not in the vocabulary");
                if (i == 0) {
                    bos = id;
                    addBos = true;
                } else if (i == single.size() - 1) {
                    eos = id;
                    addEos = true;
                }
            }
        }
        return new Tokenizer.Specials(unkId, bos, eos, addBos, addEos);
    }

    private ModelException error(String what) {
        return new ModelException(file + ": " + what);
    }
}
