package dev.minitron.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Memory-maps a whole file read-only with the FFM API. The mapping lives as long as the JVM (weights are
 * used until exit); nothing is copied onto the Java heap, so a 16 GB model runs on a 24 GB machine.
 */
public final class MappedFile {
    private MappedFile() {}

    public static MemorySegment map(Path file) {
        if (!Files.exists(file)) throw new ModelException(file + ": file not found");
        if (!Files.isRegularFile(file)) throw new ModelException(file + ": not a regular file");
        if (!Files.isReadable(file)) throw new ModelException(file + ": file is not readable");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) throw new ModelException(file + ": file is empty");
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, Arena.global());
        } catch (NoSuchFileException e) {
            throw new ModelException(file + ": file not found");
        } catch (IOException e) {
            throw new ModelException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }
}
