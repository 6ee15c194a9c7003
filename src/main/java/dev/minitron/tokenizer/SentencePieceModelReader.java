package dev.minitron.tokenizer;

import dev.minitron.io.ModelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a SentencePiece {@code tokenizer.model} (a serialized {@code ModelProto}) into a {@link Tokenizer}.
 * Fields used: {@code pieces} (piece, score, type), {@code trainer_spec} (model_type, byte_fallback,
 * unk/bos/eos/pad ids, unk_surface, treat_whitespace_as_suffix) and {@code normalizer_spec}
 * (add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces). Only BPE models are accepted.
 *
 * <p>The normalizer's {@code precompiled_charsmap} (e.g. NFKC rules) is not applied: the Nemotron tokenizers
 * use identity normalization, and a model that carries a charsmap is encoded as if it were identity.
 */
final class SentencePieceModelReader {
    // ModelProto
    private static final int PIECES = 1;
    private static final int TRAINER_SPEC = 2;
    private static final int NORMALIZER_SPEC = 3;
    // ModelProto.SentencePiece
    private static final int PIECE = 1;
    private static final int SCORE = 2;
    private static final int TYPE = 3;
    // TrainerSpec
    private static final int MODEL_TYPE = 3;
    private static final int TREAT_WHITESPACE_AS_SUFFIX = 24;
    private static final int BYTE_FALLBACK = 35;
    private static final int UNK_ID = 40;
    private static final int BOS_ID = 41;
    private static final int EOS_ID = 42;
    private static final int UNK_SURFACE = 44;
    // NormalizerSpec
    private static final int NAME = 1;
    private static final int PRECOMPILED_CHARSMAP = 2;
    private static final int ADD_DUMMY_PREFIX = 3;
    private static final int REMOVE_EXTRA_WHITESPACES = 4;
    private static final int ESCAPE_WHITESPACES = 5;

    private static final int MODEL_TYPE_BPE = 2;
    private static final String[] MODEL_TYPE_NAMES = {"?", "UNIGRAM", "BPE", "WORD", "CHAR"};

    private final Path file;
    private final List<String> pieces = new ArrayList<>();
    private final List<Float> scores = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();
    private boolean hasTrainerSpec;
    private boolean hasNormalizerSpec;
    // TrainerSpec, with protobuf defaults
    private int modelType = 1;
    private boolean byteFallback;
    private boolean whitespaceAsSuffix;
    private int unkId = 0;
    private int bosId = 1;
    private int eosId = 2;
    private String unkSurface = " \u2047 ";
    // NormalizerSpec, with protobuf defaults
    private boolean addDummyPrefix = true;
    private boolean removeExtraWhitespaces = true;
    private boolean escapeWhitespaces = true;

    private SentencePieceModelReader(Path file) {
        this.file = file;
    }

    static Tokenizer read(Path file) {
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ModelException(file + ": file not found");
        } catch (IOException e) {
            throw new ModelException(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (data.length == 0) throw new ModelException(file + ": file is empty");
        SentencePieceModelReader reader = new SentencePieceModelReader(file);
        try {
            reader.parseModel(new ProtoReader(data));
        } catch (ProtoReader.Malformed e) {
            throw new ModelException(file + ": not a valid SentencePiece model: " + e.getMessage());
        }
        return reader.build();
    }

    private void parseModel(ProtoReader r) throws ProtoReader.Malformed {
        while (r.next()) {
            switch (r.fieldNumber()) {
                case PIECES -> parsePiece(r.readMessage());
                case TRAINER_SPEC -> {
                    hasTrainerSpec = true;
                    parseTrainerSpec(r.readMessage());
                }
                case NORMALIZER_SPEC -> {
                    hasNormalizerSpec = true;
                    parseNormalizerSpec(r.readMessage());
                }
                default -> r.skip();
            }
        }
    }

    private void parsePiece(ProtoReader r) throws ProtoReader.Malformed {
        String piece = null;
        float score = 0f;
        int type = TokenType.NORMAL;
        while (r.next()) {
            switch (r.fieldNumber()) {
                case PIECE -> piece = r.readString();
                case SCORE -> score = r.readFloat();
                case TYPE -> type = r.readInt();
                default -> r.skip();
            }
        }
        if (piece == null) throw new ProtoReader.Malformed("piece " + pieces.size() + " has no text");
        pieces.add(piece);
        scores.add(score);
        types.add(type);
    }

    private void parseTrainerSpec(ProtoReader r) throws ProtoReader.Malformed {
        while (r.next()) {
            switch (r.fieldNumber()) {
                case MODEL_TYPE -> modelType = r.readInt();
                case TREAT_WHITESPACE_AS_SUFFIX -> whitespaceAsSuffix = r.readBool();
                case BYTE_FALLBACK -> byteFallback = r.readBool();
                case UNK_ID -> unkId = r.readInt();
                case BOS_ID -> bosId = r.readInt();
                case EOS_ID -> eosId = r.readInt();
                case UNK_SURFACE -> unkSurface = r.readString();
                default -> r.skip();
            }
        }
    }

    private void parseNormalizerSpec(ProtoReader r) throws ProtoReader.Malformed {
        while (r.next()) {
            switch (r.fieldNumber()) {
                case ADD_DUMMY_PREFIX -> addDummyPrefix = r.readBool();
                case REMOVE_EXTRA_WHITESPACES -> removeExtraWhitespaces = r.readBool();
                case ESCAPE_WHITESPACES -> escapeWhitespaces = r.readBool();
                case NAME, PRECOMPILED_CHARSMAP -> r.skip(); // identity normalization assumed, see class doc
                default -> r.skip();
            }
        }
    }

    private Tokenizer build() {
        if (pieces.isEmpty()) throw new ModelException(file + ": SentencePiece model has no pieces");
        // trainer_spec and normalizer_spec follow the pieces: a file cut at a field boundary lacks them
        if (!hasTrainerSpec) throw new ModelException(file + ": SentencePiece model has no trainer_spec (truncated file?)");
        if (!hasNormalizerSpec) {
            throw new ModelException(file + ": SentencePiece model has no normalizer_spec (truncated file?)");
        }
        if (modelType != MODEL_TYPE_BPE) {
            String name = modelType > 0 && modelType < MODEL_TYPE_NAMES.length ? MODEL_TYPE_NAMES[modelType]
                    : String.valueOf(modelType);
            throw new ModelException(file + ": SentencePiece model type " + name + " is not supported (only BPE)");
        }
        if (whitespaceAsSuffix) {
            throw new ModelException(file + ": treat_whitespace_as_suffix is not supported");
        }
        int n = pieces.size();
        if (unkId < 0 || unkId >= n) throw new ModelException(file + ": unk_id " + unkId + " is not a piece id");
        float[] scoreArray = new float[n];
        int[] typeArray = new int[n];
        for (int i = 0; i < n; i++) {
            scoreArray[i] = scores.get(i);
            typeArray[i] = types.get(i);
        }
        Vocabulary vocab = new Vocabulary(file.toString(), pieces.toArray(String[]::new), scoreArray, typeArray);
        Normalizer normalizer = new Normalizer(addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces);
        Tokenizer.Specials specials = new Tokenizer.Specials(unkId, validOrMinusOne(bosId, n),
                validOrMinusOne(eosId, n), true, false);
        return new Tokenizer(file.toString(), vocab, normalizer, new ScoreMergeRule(vocab), byteFallback,
                false, false, unkSurface, specials);
    }

    private static int validOrMinusOne(int id, int n) {
        return id >= 0 && id < n ? id : -1;
    }
}
