package dev.minitron.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.minitron.io.ModelException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

/** Broken or missing tokenizer files give a one-line ModelException naming the file and the problem. */
class MalformedInputTest {
    @TempDir
    Path tmp;

    @Test
    void truncatedSentencePieceModelAtManyCutPoints() throws IOException {
        byte[] model = Files.readAllBytes(Fixtures.SPM_MODEL);
        Path file = tmp.resolve("tokenizer.model");
        for (int cut = 0; cut < model.length; cut += 53) {
            Files.write(file, Arrays.copyOf(model, cut));
            String message = expectModelException(() -> Tokenizer.fromSentencePiece(file));
            assertTrue(message.startsWith(file.toString() + ": "), message);
        }
        Files.write(file, Arrays.copyOf(model, model.length - 3));
        String message = expectModelException(() -> Tokenizer.fromSentencePiece(file));
        assertTrue(message.contains("truncated"), message);
    }

    @Test
    void sentencePieceModelCutAfterThePieces() throws IOException {
        // a cut at a field boundary parses, but the specs that follow the pieces are missing
        byte[] model = Files.readAllBytes(Fixtures.SPM_MODEL);
        int trainerSpecStart = indexOfTrainerSpec(model);
        Path file = tmp.resolve("cut.model");
        Files.write(file, Arrays.copyOf(model, trainerSpecStart));
        assertEquals(file + ": SentencePiece model has no trainer_spec (truncated file?)",
                expectModelException(() -> Tokenizer.fromSentencePiece(file)));
    }

    @Test
    void textFileIsNotASentencePieceModel() throws IOException {
        Path file = tmp.resolve("tokenizer.model");
        Files.writeString(file, "{\"this is\": \"json\"}");
        String message = expectModelException(() -> Tokenizer.fromSentencePiece(file));
        assertTrue(message.startsWith(file + ": "), message);
    }

    @Test
    void unigramSentencePieceModelIsRejected() throws IOException {
        Path file = tmp.resolve("unigram.model");
        Files.write(file, modelProto(1));
        assertEquals(file + ": SentencePiece model type UNIGRAM is not supported (only BPE)",
                expectModelException(() -> Tokenizer.fromSentencePiece(file)));
        // the same hand-made model with type BPE loads and encodes
        Files.write(file, modelProto(2));
        Tokenizer t = Tokenizer.fromSentencePiece(file);
        assertEquals(6, t.vocabSize());
        assertEquals(3, t.pieceId("\u2581a"));
        assertEquals(4, t.pieceId("a"));
        assertEquals(TokenType.UNKNOWN, t.tokenType(0));
        assertEquals(1, t.bosId());
        assertEquals(2, t.eosId());
        assertEquals("[3, 4, 0]", Arrays.toString(t.encode("aax")), "no byte fallback: unknown char -> unk");
    }

    @Test
    void tokenizerJsonWithWrongModelType() throws IOException {
        String json = Files.readString(Fixtures.TOKENIZER_JSON).replace("\"type\": \"BPE\"", "\"type\": \"Unigram\"");
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, json);
        assertEquals(file + ": model type Unigram is not supported (only BPE)",
                expectModelException(() -> Tokenizer.fromTokenizerJson(file)));
    }

    @Test
    void tokenizerJsonWithoutModel() throws IOException {
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, "{\"version\": \"1.0\", \"normalizer\": null}");
        assertEquals(file + ": missing \"model\"", expectModelException(() -> Tokenizer.fromTokenizerJson(file)));
    }

    @Test
    void truncatedTokenizerJson() throws IOException {
        String json = Files.readString(Fixtures.TOKENIZER_JSON);
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, json.substring(0, json.length() / 2));
        String message = expectModelException(() -> Tokenizer.fromTokenizerJson(file));
        assertTrue(message.startsWith(file + ": invalid JSON"), message);
        assertEquals(1, message.lines().count(), "one-line message: " + message);
    }

    @Test
    void tokenizerJsonWithUnsupportedNormalizer() throws IOException {
        String json = Files.readString(Fixtures.TOKENIZER_JSON)
                .replace("\"normalizer\": {", "\"normalizer\": {\"type\": \"NFKC\"}, \"unused\": {");
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, json);
        assertEquals(file + ": normalizer type NFKC is not supported",
                expectModelException(() -> Tokenizer.fromTokenizerJson(file)));
    }

    @Test
    void missingFiles() {
        Path missing = tmp.resolve("nope.model");
        assertEquals(missing + ": file not found", expectModelException(() -> Tokenizer.fromSentencePiece(missing)));
        Path missingJson = tmp.resolve("nope.json");
        assertEquals(missingJson + ": file not found",
                expectModelException(() -> Tokenizer.fromTokenizerJson(missingJson)));
        assertEquals(tmp + ": no tokenizer.model or tokenizer.json found",
                expectModelException(() -> Tokenizer.fromHfFolder(tmp)));
        Path noDir = tmp.resolve("no-such-model");
        assertEquals(noDir + ": not a directory", expectModelException(() -> Tokenizer.fromHfFolder(noDir)));
    }

    @Test
    void badGgufMetadata() {
        Map<String, Object> metadata = new HashMap<>(dev.minitron.io.Gguf.open(Fixtures.TINY_A_GGUF).metadata());
        metadata.put("tokenizer.ggml.model", "gpt2");
        assertEquals("x.gguf: tokenizer.ggml.model is 'gpt2'; only 'llama' (SentencePiece BPE) is supported",
                expectModelException(() -> Tokenizer.fromGguf(metadata, "x.gguf")));
        metadata.put("tokenizer.ggml.model", "llama");
        metadata.put("tokenizer.ggml.scores", new float[3]);
        assertEquals("GGUF metadata: tokenizer.ggml.scores has 3 entries, expected 1000",
                expectModelException(() -> Tokenizer.fromGguf(metadata)));
        metadata.remove("tokenizer.ggml.tokens");
        assertEquals("GGUF metadata: missing tokenizer.ggml.tokens", expectModelException(() -> Tokenizer.fromGguf(metadata)));
    }

    @Test
    void configNamingAnUnknownBosToken() throws IOException {
        Files.copy(Fixtures.SPM_MODEL, tmp.resolve("tokenizer.model"));
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"bos_token\": \"<bos>\"}");
        assertEquals(tmp.resolve("tokenizer_config.json") + ": bos_token '<bos>' is not in the vocabulary",
                expectModelException(() -> Tokenizer.fromHfFolder(tmp)));
    }

    private static String expectModelException(Executable load) {
        String message = assertThrows(ModelException.class, load).getMessage();
        assertEquals(1, message.lines().count(), "one-line message: " + message);
        return message;
    }

    /** Offset of the trainer_spec field (tag 0x12) that follows the last piece. */
    private static int indexOfTrainerSpec(byte[] model) {
        int pos = 0;
        while (model[pos] == 0x0A) { // pieces: field 1, length-delimited
            int length = 0;
            int shift = 0;
            int b;
            pos++;
            do {
                b = model[pos++] & 0xFF;
                length |= (b & 0x7F) << shift;
                shift += 7;
            } while (b >= 0x80);
            pos += length;
        }
        assertEquals(0x12, model[pos], "trainer_spec tag");
        return pos;
    }

    /** A hand-made 6-piece ModelProto with the given trainer_spec model_type and no byte fallback. */
    private static byte[] modelProto(int modelType) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String[] pieces = {"<unk>", "<s>", "</s>", "\u2581a", "a", "\u2581"};
        int[] types = {2, 3, 3, 1, 1, 1};
        float[] scores = {0, 0, 0, -1, -2, -3};
        for (int i = 0; i < pieces.length; i++) {
            ByteArrayOutputStream piece = new ByteArrayOutputStream();
            field(piece, 1, 2);
            bytes(piece, pieces[i].getBytes(StandardCharsets.UTF_8));
            field(piece, 2, 5);
            int bits = Float.floatToIntBits(scores[i]);
            for (int k = 0; k < 4; k++) piece.write(bits >>> (8 * k));
            field(piece, 3, 0);
            varint(piece, types[i]);
            field(out, 1, 2);
            bytes(out, piece.toByteArray());
        }
        ByteArrayOutputStream trainer = new ByteArrayOutputStream();
        field(trainer, 3, 0);
        varint(trainer, modelType);
        field(out, 2, 2);
        bytes(out, trainer.toByteArray());
        ByteArrayOutputStream normalizer = new ByteArrayOutputStream();
        field(normalizer, 1, 2);
        bytes(normalizer, "identity".getBytes(StandardCharsets.UTF_8));
        field(normalizer, 4, 0);
        varint(normalizer, 0);
        field(out, 3, 2);
        bytes(out, normalizer.toByteArray());
        return out.toByteArray();
    }

    private static void field(ByteArrayOutputStream out, int number, int wireType) {
        varint(out, number << 3 | wireType);
    }

    private static void bytes(ByteArrayOutputStream out, byte[] data) throws IOException {
        varint(out, data.length);
        out.write(data);
    }

    private static void varint(ByteArrayOutputStream out, int value) {
        while ((value & ~0x7F) != 0) {
            out.write((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out.write(value);
    }
}
