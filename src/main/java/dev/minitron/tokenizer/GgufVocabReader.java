package dev.minitron.tokenizer;

import dev.minitron.io.ModelException;
import java.util.Map;

/**
 * Builds a {@link Tokenizer} from GGUF vocabulary metadata as llama.cpp's SPM ("llama") tokenizer reads it:
 * {@code tokenizer.ggml.tokens}, {@code .scores} (merge priorities), {@code .token_type}, the special ids
 * {@code .bos_token_id}, {@code .eos_token_id}, {@code .unknown_token_id}, and the flags {@code .add_bos_token}
 * (default true), {@code .add_eos_token} (default false), {@code .add_space_prefix} (default true) and
 * {@code .remove_extra_whitespaces} (default false). Byte fallback is always on, as in llama.cpp.
 *
 * <p>Values are as the GGUF reader gives them: integers as Long (any Number is accepted), arrays as
 * String[] / float[] / double[] / int[] / long[].
 */
final class GgufVocabReader {
    private static final String PREFIX = "tokenizer.ggml.";

    private final Map<String, Object> metadata;
    private final String source;

    private GgufVocabReader(Map<String, Object> metadata, String source) {
        this.metadata = metadata;
        this.source = source;
    }

    static Tokenizer read(Map<String, Object> metadata, String source) {
        return new GgufVocabReader(metadata, source).build();
    }

    private Tokenizer build() {
        Object model = metadata.get(PREFIX + "model");
        if (model == null) throw error("missing " + PREFIX + "model");
        if (!"llama".equals(model)) {
            throw error(PREFIX + "model is '" + model + "'; only 'llama' (SentencePiece BPE) is supported");
        }
        String[] tokens = stringArray("tokens");
        float[] scores = floatArray("scores", tokens.length);
        int[] types = intArray("token_type", tokens.length);
        Vocabulary vocab = new Vocabulary(source, tokens, scores, types);

        int unkId = optionalId("unknown_token_id", firstOfType(types, TokenType.UNKNOWN), tokens.length);
        int bosId = optionalId("bos_token_id", vocab.id("<s>"), tokens.length);
        int eosId = optionalId("eos_token_id", vocab.id("</s>"), tokens.length);
        Tokenizer.Specials specials = new Tokenizer.Specials(unkId, bosId, eosId,
                flag("add_bos_token", true), flag("add_eos_token", false));
        Normalizer normalizer = new Normalizer(flag("add_space_prefix", true),
                flag("remove_extra_whitespaces", false), true);
        return new Tokenizer(source, vocab, normalizer, new ScoreMergeRule(vocab), true, false, false,
                " \u2047 ", specials);
    }

    private String[] stringArray(String key) {
        Object value = metadata.get(PREFIX + key);
        if (value == null) throw error("missing " + PREFIX + key);
        if (!(value instanceof String[] array)) throw error(PREFIX + key + " is not an array of strings");
        return array;
    }

    private float[] floatArray(String key, int length) {
        Object value = metadata.get(PREFIX + key);
        float[] result;
        if (value == null) {
            result = new float[length];
        } else if (value instanceof float[] array) {
            result = array.clone();
        } else if (value instanceof double[] array) {
            result = new float[array.length];
            for (int i = 0; i < array.length; i++) result[i] = (float) array[i];
        } else {
            throw error(PREFIX + key + " is not an array of floats");
        }
        if (result.length != length) throw error(PREFIX + key + " has " + result.length + " entries, expected " + length);
        return result;
    }

    private int[] intArray(String key, int length) {
        Object value = metadata.get(PREFIX + key);
        int[] result;
        if (value == null) {
            result = new int[length];
            java.util.Arrays.fill(result, TokenType.NORMAL);
        } else if (value instanceof int[] array) {
            result = array.clone();
        } else if (value instanceof long[] array) {
            result = new int[array.length];
            for (int i = 0; i < array.length; i++) result[i] = (int) array[i];
        } else {
            throw error(PREFIX + key + " is not an array of integers");
        }
        if (result.length != length) throw error(PREFIX + key + " has " + result.length + " entries, expected " + length);
        return result;
    }

    private int optionalId(String key, int fallback, int vocabSize) {
        Object value = metadata.get(PREFIX + key);
        if (value == null) return fallback;
        if (!(value instanceof Number number)) throw error(PREFIX + key + " is not an integer");
        long id = number.longValue();
        if (id < 0 || id >= vocabSize) throw error(PREFIX + key + " = " + id + " is outside the vocabulary [0, " + vocabSize + ")");
        return (int) id;
    }

    private boolean flag(String key, boolean fallback) {
        Object value = metadata.get(PREFIX + key);
        if (value == null) return fallback;
        if (!(value instanceof Boolean b)) throw error(PREFIX + key + " is not a boolean");
        return b;
    }

    private static int firstOfType(int[] types, int type) {
        for (int i = 0; i < types.length; i++) if (types[i] == type) return i;
        return -1;
    }

    private ModelException error(String what) {
        return new ModelException(source + ": " + what);
    }
}
