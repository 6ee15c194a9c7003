package dev.minitron.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.stream.Stream;

/**
 * Writes a file or a folder so that the final path either does not exist or holds the complete result.
 *
 * <p>Everything is written to a temporary sibling {@code <name>.partial-<random>} (same folder, hence same
 * file system); {@link #commit()} fsyncs it and renames it onto the final path with one atomic
 * {@code rename(2)}. Closing without a commit (an exception, a cancelled run) deletes the temporary, and a
 * shutdown hook deletes it when the JVM is stopped (Ctrl-C, SIGTERM) in the middle. Only a kill -9 or a power
 * loss can leave a {@code .partial-*} behind, and never something at the final path.
 *
 * <pre>{@code
 * try (AtomicOutput out = AtomicOutput.file(target)) {
 *     write(out.path());
 *     out.commit();
 * }
 * }</pre>
 *
 * A file target that exists is replaced; a folder target must not exist (or be an empty folder).
 */
public final class AtomicOutput implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path target;
    private final Path temp;
    private final boolean directory;
    private final Thread hook;
    private State state = State.OPEN;

    private enum State { OPEN, COMMITTED, ABORTED }

    private AtomicOutput(Path target, boolean directory) {
        this.target = target.toAbsolutePath().normalize();
        this.directory = directory;
        Path parent = this.target.getParent();
        if (parent == null) throw new ModelException(target + ": cannot write to the file system root");
        if (!Files.isDirectory(parent)) throw new ModelException(target + ": folder " + parent + " does not exist");
        if (directory && Files.exists(this.target) && !isEmptyDir(this.target)) {
            throw new ModelException(target + ": already exists (choose a new output folder)");
        }
        if (!directory && Files.isDirectory(this.target)) {
            throw new ModelException(target + ": is a folder, expected a file path");
        }
        byte[] rnd = new byte[6];
        RANDOM.nextBytes(rnd);
        this.temp = parent.resolve(this.target.getFileName() + ".partial-" + HexFormat.of().formatHex(rnd));
        try {
            if (directory) Files.createDirectory(temp);
            else Files.createFile(temp);
        } catch (IOException e) {
            throw new ModelException(target + ": cannot create " + temp.getFileName() + " (" + e.getMessage() + ")", e);
        }
        this.hook = new Thread(this::abort, "delete " + temp.getFileName());
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            deleteQuietly(temp);
            throw new ModelException(target + ": not written, the JVM is shutting down");
        }
    }

    /** Starts writing the file {@code target}; write to {@link #path()}. */
    public static AtomicOutput file(Path target) {
        return new AtomicOutput(target, false);
    }

    /** Starts writing the folder {@code target}; create its files inside {@link #path()}. */
    public static AtomicOutput directory(Path target) {
        return new AtomicOutput(target, true);
    }

    /** Where to write now: the temporary file or folder. */
    public Path path() { return temp; }

    /** The final path. */
    public Path target() { return target; }

    /**
     * Makes the result durable and visible: fsyncs the temporary (for a folder: every file in it and the folder
     * itself), renames it to the final path and fsyncs the parent folder.
     */
    public void commit() {
        synchronized (this) {
            if (state == State.ABORTED) throw new ModelException(target + ": not written (cancelled)");
            if (state == State.COMMITTED) return;
            try {
                if (directory) {
                    try (Stream<Path> files = Files.walk(temp)) {
                        for (Path p : (Iterable<Path>) files::iterator) fsync(p);
                    }
                    if (Files.isDirectory(target)) Files.delete(target); // an empty folder (checked when created)
                } else {
                    fsync(temp);
                }
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new ModelException(target + ": the file system cannot rename atomically (" + e.getMessage() + ")", e);
                }
                state = State.COMMITTED;
            } catch (DirectoryNotEmptyException | FileAlreadyExistsException e) {
                throw new ModelException(target + ": already exists (choose a new output path)", e);
            } catch (IOException e) {
                throw new ModelException(target + ": cannot finish writing (" + e.getMessage() + ")", e);
            }
        }
        removeHook();
        try {
            fsync(target.getParent());
        } catch (IOException ignored) {
            // durability of the rename only; some file systems refuse to fsync a folder
        }
    }

    /** Deletes the temporary unless {@link #commit()} succeeded. */
    @Override
    public void close() {
        abort();
        removeHook();
    }

    private void abort() {
        synchronized (this) {
            if (state != State.OPEN) return;
            state = State.ABORTED;
        }
        deleteQuietly(temp);
    }

    private void removeHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs (or ran) anyway; abort() is idempotent
        }
    }

    private static void fsync(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                ch.force(true);
            }
        } else if (Files.isRegularFile(p)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
        }
    }

    private static boolean isEmptyDir(Path p) {
        if (!Files.isDirectory(p)) return false;
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** Deletes a file or a folder tree; retried once because a writer may still be adding files. */
    static void deleteQuietly(Path p) {
        for (int attempt = 0; attempt < 3 && Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS); attempt++) {
            try (Stream<Path> s = Files.walk(p)) {
                s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(q -> {
                    try {
                        Files.deleteIfExists(q);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            } catch (NoSuchFileException gone) {
                return;
            } catch (IOException | UncheckedIOException e) {
                // try again: a file appeared while deleting
            }
        }
    }
}
