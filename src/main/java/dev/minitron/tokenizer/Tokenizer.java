package dev.minitron.tokenizer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * The Nemotron-4 / Minitron tokenizer: SentencePiece BPE with byte fallback, loaded from a SentencePiece
 * {@code tokenizer.model}, a Hugging Face {@code tokenizer.json} or GGUF vocabulary metadata; the three give
 * the same ids, which are also those of SentencePiece, Hugging Face tokenizers and llama.cpp.
 *
 * <p>Encoding: the text gets a dummy-prefix "▁" (when the model says so), spaces become "▁", and pieces are
 * merged by BPE; characters outside the vocabulary become their UTF-8 bytes as {@code <0xNN>} pieces. Special
 * tokens written in the text (such as "&lt;s&gt;") are not recognised: they are encoded as plain text, as
 * SentencePiece does.
 *
 * <p>Decoding: control tokens (BOS, EOS, padding) give no text, the unknown token gives " ⁇ ", runs of byte
 * pieces are decoded as UTF-8 (ill-formed parts as U+FFFD), "▁" becomes a space, and the leading space of the
 * first text token (the dummy prefix) is dropped, once. This is the convention of SentencePiece's
 * {@code decode} and of Hugging Face's decode, and what the reference {@code greedy_text}s were made with:
 * a continuation decoded on its own loses the space its first token begins with.
 *
 * <p>Token types are GGUF codes ({@link TokenType}); the unknown token always has type UNKNOWN, even where a
 * source marks it as control (llama.cpp's converter does). Instances are immutable and thread-safe.
 */
public final class Tokenizer {
    /** The special token ids and the add-BOS/EOS defaults a source declares. */
    record Specials(int unkId, int bosId, int eosId, boolean addBos, boolean addEos) {}

    private final String source;
    private final Vocabulary vocab;
    private final Normalizer normalizer;
    private final BpeEncoder encoder;
    private final MergeRule rule;
    private final boolean byteFallback;
    private final boolean splitWords;
    private final boolean ignoreMerges;
    private final String unkSurface;
    private final Specials specials;

    /**
     * @param splitWords   encode each "▁"-led word separately (Hugging Face Metaspace with split)
     * @param ignoreMerges take a whole word that is a piece as it is (Hugging Face BPE ignore_merges)
     */
    Tokenizer(String source, Vocabulary vocab, Normalizer normalizer, MergeRule rule, boolean byteFallback,
            boolean splitWords, boolean ignoreMerges, String unkSurface, Specials specials) {
        this.source = source;
        this.vocab = vocab;
        this.normalizer = normalizer;
        this.rule = rule;
        this.byteFallback = byteFallback;
        this.splitWords = splitWords;
        this.ignoreMerges = ignoreMerges;
        this.unkSurface = unkSurface;
        this.specials = specials;
        this.encoder = new BpeEncoder(vocab, rule, byteFallback, specials.unkId());
        // the unknown token decodes to the unknown surface whatever type the source gave it
        if (specials.unkId() >= 0) vocab.setType(specials.unkId(), TokenType.UNKNOWN);
    }

    /** A copy with other special ids / add-BOS/EOS flags (from a Hugging Face folder's config files). */
    Tokenizer withSpecials(Specials newSpecials) {
        return new Tokenizer(source, vocab, normalizer, rule, byteFallback, splitWords, ignoreMerges, unkSurface,
                newSpecials);
    }

    /**
     * Loads the tokenizer of a Hugging Face model folder: {@code tokenizer.model} if present, else
     * {@code tokenizer.json}; special ids and add-BOS/EOS flags come from {@code tokenizer_config.json},
     * {@code special_tokens_map.json} and {@code config.json} when present (see {@link HfFolderReader}).
     */
    public static Tokenizer fromHfFolder(Path dir) {
        return HfFolderReader.read(dir);
    }

    /** Loads a SentencePiece {@code tokenizer.model}; BOS is added by default, EOS is not. */
    public static Tokenizer fromSentencePiece(Path tokenizerModel) {
        return SentencePieceModelReader.read(tokenizerModel);
    }

    /**
     * Loads a Hugging Face {@code tokenizer.json} (BPE model); the add-BOS/EOS defaults come from its
     * TemplateProcessing post-processor.
     */
    public static Tokenizer fromTokenizerJson(Path tokenizerJson) {
        return TokenizerJsonReader.read(tokenizerJson);
    }

    /**
     * Builds the tokenizer from GGUF metadata ({@code tokenizer.ggml.*}); values as the GGUF reader gives them
     * (integers as Long, arrays as String[] / float[] / int[] ...).
     */
    public static Tokenizer fromGguf(Map<String, Object> metadata) {
        return GgufVocabReader.read(metadata, "GGUF metadata");
    }

    /** As {@link #fromGguf(Map)}, naming {@code source} (e.g. the file) in error messages. */
    public static Tokenizer fromGguf(Map<String, Object> metadata, String source) {
        return GgufVocabReader.read(metadata, source);
    }

    /** The token ids of {@code text}, without BOS or EOS. */
    public int[] encode(String text) {
        IntList out = new IntList();
        encodeInto(text, out);
        return out.toArray();
    }

    /** The token ids of {@code text}, after {@link #bosId()} when {@code addBos}; EOS is never added. */
    public int[] encodeWithSpecials(String text, boolean addBos) {
        return encodeWithSpecials(text, addBos, false);
    }

    /** The token ids of {@code text}, after {@link #bosId()} when {@code addBos}, before {@link #eosId()} when {@code addEos}. */
    public int[] encodeWithSpecials(String text, boolean addBos, boolean addEos) {
        IntList out = new IntList();
        if (addBos) out.add(requireSpecial(specials.bosId(), "BOS"));
        encodeInto(text, out);
        if (addEos) out.add(requireSpecial(specials.eosId(), "EOS"));
        return out.toArray();
    }

    private int requireSpecial(int id, String what) {
        if (id < 0) throw new IllegalStateException(source + ": the tokenizer has no " + what + " token");
        return id;
    }

    private void encodeInto(String text, IntList out) {
        String normalized = normalizer.normalize(text);
        if (!splitWords) {
            encodeWord(normalized, out);
            return;
        }
        int wordStart = 0;
        for (int i = 1; i <= normalized.length(); i++) {
            if (i == normalized.length() || normalized.charAt(i) == Normalizer.SPACE_SYMBOL) {
                encodeWord(normalized.substring(wordStart, i), out);
                wordStart = i;
            }
        }
    }

    private void encodeWord(String word, IntList out) {
        if (ignoreMerges) {
            int id = vocab.id(word);
            if (id >= 0 && TokenType.isText(vocab.type(id))) {
                out.add(id);
                return;
            }
        }
        encoder.encode(word, out);
    }

    /**
     * The text of {@code ids}, with the dummy-prefix space of the first text token dropped (see the class
     * comment for the full convention).
     */
    public String decode(int[] ids) {
        StringBuilder text = new StringBuilder();
        byte[] bytes = new byte[16];
        int byteCount = 0;
        boolean atStart = normalizer.addDummyPrefix();
        for (int id : ids) {
            int type = tokenType(id);
            if (type == TokenType.BYTE) {
                if (byteCount == bytes.length) bytes = Arrays.copyOf(bytes, byteCount * 2);
                bytes[byteCount++] = (byte) vocab.byteValue(id);
                atStart = false;
                continue;
            }
            if (byteCount > 0) {
                text.append(Utf8.decode(bytes, 0, byteCount));
                byteCount = 0;
            }
            text.append(surface(id, type, atStart));
            if (type != TokenType.CONTROL) atStart = false;
        }
        if (byteCount > 0) text.append(Utf8.decode(bytes, 0, byteCount));
        return text.toString();
    }

    /**
     * The text of one non-byte token: nothing for control tokens, the unknown surface for the unknown token,
     * else the piece with "▁" as spaces, less its first "▁" when {@code stripLeadingSpace}.
     */
    String surface(int id, int type, boolean stripLeadingSpace) {
        return switch (type) {
            case TokenType.CONTROL -> "";
            case TokenType.UNKNOWN -> unkSurface;
            default -> {
                String piece = vocab.piece(id);
                if (stripLeadingSpace && !piece.isEmpty() && piece.charAt(0) == Normalizer.SPACE_SYMBOL) {
                    piece = piece.substring(1);
                }
                yield normalizer.denormalize(piece);
            }
        };
    }

    /** The byte value of a {@link TokenType#BYTE} token. */
    int byteValue(int id) {
        return vocab.byteValue(id);
    }

    /**
     * An incremental decoder for generated tokens.
     *
     * @param stripLeadingSpace drop the leading space of the first text token, as {@link #decode} does
     *                          (false to continue a prompt whose text is already shown)
     */
    public StreamDecoder streamDecoder(boolean stripLeadingSpace) {
        return new StreamDecoder(this, stripLeadingSpace);
    }

    /** Number of tokens (pieces) in the vocabulary. */
    public int vocabSize() {
        return vocab.size();
    }

    /** The piece of a token as stored in the vocabulary (with "▁" for spaces, {@code <0xNN>} for bytes). */
    public String piece(int id) {
        checkId(id);
        return vocab.piece(id);
    }

    /**
     * The score of a token: the SentencePiece / GGUF score; for tokenizer.json, which has none, minus the rank
     * of the first merge producing the token (0 for tokens no merge produces).
     */
    public float score(int id) {
        checkId(id);
        return vocab.score(id);
    }

    /** The {@link TokenType} code of a token (GGUF codes: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte). */
    public int tokenType(int id) {
        checkId(id);
        return vocab.type(id);
    }

    /** The id of a piece, or -1 when it is not in the vocabulary. */
    public int pieceId(String piece) {
        return vocab.id(piece);
    }

    /** The beginning-of-sequence token id, or -1 when the tokenizer has none. */
    public int bosId() {
        return specials.bosId();
    }

    /** The end-of-sequence token id, or -1 when the tokenizer has none. */
    public int eosId() {
        return specials.eosId();
    }

    /** The unknown token id, or -1 when the tokenizer has none. */
    public int unkId() {
        return specials.unkId();
    }

    /** Whether prompts should start with BOS, as the model's files say. */
    public boolean addBos() {
        return specials.addBos();
    }

    /** Whether the model's files ask for EOS after each input (not applied by {@link #encodeWithSpecials(String, boolean)}). */
    public boolean addEos() {
        return specials.addEos();
    }

    /** Where the tokenizer was loaded from (a file or a description). */
    public String source() {
        return source;
    }

    Vocabulary vocabulary() {
        return vocab;
    }

    Specials specials() {
        return specials;
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab.size() + ")");
        }
    }
}
