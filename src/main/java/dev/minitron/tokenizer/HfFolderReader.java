package dev.minitron.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.minitron.io.ModelException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads the tokenizer of a Hugging Face model folder. The vocabulary comes from {@code tokenizer.model} if
 * present, else {@code tokenizer.json}. Special tokens, first source that names them wins:
 * <ul>
 *   <li>BOS / EOS id: {@code tokenizer_config.json}'s {@code bos_token} / {@code eos_token} (a string or an
 *       object with "content", looked up in the vocabulary), then {@code special_tokens_map.json}'s, then the
 *       tokenizer file's own ids, then {@code config.json}'s {@code bos_token_id} / {@code eos_token_id},
 *       then 2 / 3 (the Nemotron ids);</li>
 *   <li>add BOS / EOS: {@code tokenizer_config.json}'s {@code add_bos_token} / {@code add_eos_token}, else
 *       the tokenizer file's default (tokenizer.model: BOS yes, EOS no; tokenizer.json: its post-processor).</li>
 * </ul>
 */
final class HfFolderReader {
    private HfFolderReader() {}

    static Tokenizer read(Path dir) {
        if (!Files.isDirectory(dir)) throw new ModelException(dir + ": not a directory");
        Tokenizer base;
        if (Files.isRegularFile(dir.resolve("tokenizer.model"))) {
            base = SentencePieceModelReader.read(dir.resolve("tokenizer.model"));
        } else if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            base = TokenizerJsonReader.read(dir.resolve("tokenizer.json"));
        } else {
            throw new ModelException(dir + ": no tokenizer.model or tokenizer.json found");
        }
        JsonNode tokenizerConfig = optionalJson(dir.resolve("tokenizer_config.json"));
        JsonNode specialTokensMap = optionalJson(dir.resolve("special_tokens_map.json"));
        JsonNode config = optionalJson(dir.resolve("config.json"));
        Tokenizer.Specials own = base.specials();
        int bos = resolveId(base, "bos_token", own.bosId(), 2, dir, tokenizerConfig, specialTokensMap, config);
        int eos = resolveId(base, "eos_token", own.eosId(), 3, dir, tokenizerConfig, specialTokensMap, config);
        boolean addBos = flag(tokenizerConfig, "add_bos_token", own.addBos());
        boolean addEos = flag(tokenizerConfig, "add_eos_token", own.addEos());
        return base.withSpecials(new Tokenizer.Specials(own.unkId(), bos, eos, addBos, addEos));
    }

    private static int resolveId(Tokenizer base, String key, int own, int nemotronDefault, Path dir,
            JsonNode tokenizerConfig, JsonNode specialTokensMap, JsonNode config) {
        Integer fromName = lookupName(base, tokenizerConfig, key, dir.resolve("tokenizer_config.json"));
        if (fromName == null) fromName = lookupName(base, specialTokensMap, key, dir.resolve("special_tokens_map.json"));
        if (fromName != null) return fromName;
        if (own >= 0) return own;
        JsonNode id = config == null ? null : config.get(key + "_id");
        if (id != null && id.isArray() && !id.isEmpty()) id = id.get(0);
        if (id != null && id.canConvertToInt() && id.asInt() >= 0 && id.asInt() < base.vocabSize()) return id.asInt();
        return nemotronDefault < base.vocabSize() ? nemotronDefault : -1;
    }

    /** The id of the token a config file names under {@code key}, or null when it names none. */
    private static Integer lookupName(Tokenizer base, JsonNode node, String key, Path file) {
        if (node == null) return null;
        JsonNode value = node.get(key);
        if (value != null && value.isObject()) value = value.get("content");
        if (value == null || !value.isTextual()) return null;
        int id = base.pieceId(value.asText());
        if (id < 0) throw new ModelException(file + ": " + key + " '" + value.asText() + "' is not in the vocabulary");
        return id;
    }

    private static boolean flag(JsonNode node, String key, boolean fallback) {
        JsonNode value = node == null ? null : node.get(key);
        return value != null && value.isBoolean() ? value.asBoolean() : fallback;
    }

    private static JsonNode optionalJson(Path file) {
        return Files.isRegularFile(file) ? Json.read(file) : null;
    }
}
