package dev.minitron.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.minitron.io.ModelException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads a JSON file into a tree, turning I/O and syntax errors into one-line {@link ModelException}s. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    static JsonNode read(Path file) {
        try {
            JsonNode node = MAPPER.readTree(file.toFile());
            if (node == null || node.isMissingNode()) throw new ModelException(file + ": empty JSON file");
            return node;
        } catch (JsonProcessingException e) {
            throw new ModelException(file + ": invalid JSON: " + e.getOriginalMessage());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new ModelException(file + ": file not found");
        } catch (IOException e) {
            throw new ModelException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }
}
