package dev.minitron.tools;

import dev.minitron.io.AtomicOutput;
import dev.minitron.io.ModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class AtomicOutputTest {
    @TempDir Path dir;

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void folderAppearsOnlyOnCommit() throws IOException {
        Path target = dir.resolve("model");
        try (AtomicOutput out = AtomicOutput.directory(target)) {
            assertTrue(out.path().getFileName().toString().startsWith("model.partial-"));
            Files.writeString(out.path().resolve("config.json"), "{}");
            Files.createDirectory(out.path().resolve("sub"));
            Files.writeString(out.path().resolve("sub/x"), "x");
            assertFalse(Files.exists(target));
            out.commit();
        }
        assertEquals(List.of("model"), listing());
        assertEquals("{}", Files.readString(target.resolve("config.json")));
        assertEquals("x", Files.readString(target.resolve("sub/x")));
    }

    @Test
    void closingWithoutCommitDeletesEverything() throws IOException {
        try (AtomicOutput out = AtomicOutput.directory(dir.resolve("model"))) {
            Files.createDirectory(out.path().resolve("sub"));
            Files.writeString(out.path().resolve("sub/x"), "x");
        }
        try (AtomicOutput out = AtomicOutput.file(dir.resolve("m.gguf"))) {
            Files.writeString(out.path(), "half");
        }
        assertEquals(List.of(), listing());
    }

    @Test
    void anEmptyFolderMayBeTheTargetAFullOneNot() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        try (AtomicOutput out = AtomicOutput.directory(empty)) {
            Files.writeString(out.path().resolve("a"), "a");
            out.commit();
        }
        assertTrue(Files.exists(empty.resolve("a")));
        assertThrows(ModelException.class, () -> AtomicOutput.directory(empty));
        assertEquals(List.of("empty"), listing());
    }

    @Test
    void aFileTargetIsReplaced() throws IOException {
        Path f = dir.resolve("m.gguf");
        Files.writeString(f, "old");
        try (AtomicOutput out = AtomicOutput.file(f)) {
            Files.writeString(out.path(), "new");
            assertEquals("old", Files.readString(f));
            out.commit();
        }
        assertEquals("new", Files.readString(f));
        assertEquals(List.of("m.gguf"), listing());
    }

    @Test
    void missingParentIsOneClearError() {
        ModelException e = assertThrows(ModelException.class, () -> AtomicOutput.file(dir.resolve("no/such/m.gguf")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }
}
