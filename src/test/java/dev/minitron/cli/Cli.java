package dev.minitron.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Runs the CLI in-process through {@link Main#run} and captures exit code, stdout and stderr. */
public final class Cli {
    private Cli() {}

    public record Run(String[] args, int code, String out, String err) {
        /** Asserts success (exit 0) and returns this. */
        public Run ok() {
            assertEquals(0, code, () -> "exit code of " + Arrays.toString(args) + "\nstderr: " + err + "\nstdout: " + out);
            return this;
        }

        /** Asserts that stdout is exactly one JSON object (and nothing else) and returns it. */
        public JsonNode json() {
            ok();
            String s = out.strip();
            assertFalse(s.isEmpty(), "stdout is empty");
            try {
                var parser = new ObjectMapper().createParser(s);
                JsonNode n = new ObjectMapper().readTree(parser);
                assertTrue(n != null && n.isObject(), "stdout is not a JSON object: " + s);
                assertEquals(null, parser.nextToken(), "stdout has more than one JSON value");
                assertEquals(1, out.lines().count(), "one JSON object on one line");
                return n;
            } catch (java.io.IOException e) {
                fail("stdout is not JSON: " + e.getMessage() + "\n" + s);
                return null;
            }
        }

        /** Asserts success and that stdout is exactly one JSON value (of any kind), and returns it. */
        public JsonNode json0() {
            ok();
            try {
                return new ObjectMapper().readTree(out);
            } catch (java.io.IOException e) {
                fail("stdout is not JSON: " + e.getMessage() + "\n" + out);
                return null;
            }
        }

        /**
         * Asserts a user error: non-zero exit, nothing on stdout, exactly one stderr line starting with "error:",
         * no stack trace and no exception class name; the line contains each of {@code parts}. Returns the line.
         */
        public String userError(String... parts) {
            String what = Arrays.toString(args);
            assertNotEquals(0, code, () -> what + " should fail; stdout: " + out + "\nstderr: " + err);
            assertEquals("", out, () -> what + ": nothing on stdout");
            List<String> lines = err.lines().toList();
            assertEquals(1, lines.size(), () -> what + ": exactly one stderr line, got:\n" + err);
            String line = lines.get(0);
            assertTrue(line.startsWith("error: "), () -> what + ": starts with 'error: ': " + line);
            assertFalse(err.contains("\tat "), () -> what + ": stack trace: " + err);
            assertFalse(err.contains("Exception"), () -> what + ": exception name in: " + err);
            for (String p : parts) assertTrue(line.contains(p), () -> what + ": should contain '" + p + "': " + line);
            return line;
        }
    }

    public static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code;
        try (PrintWriter o = new PrintWriter(out); PrintWriter e = new PrintWriter(err)) {
            code = Main.run(args, o, e);
        }
        return new Run(args, code, out.toString(), err.toString());
    }

    public static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    public static float[] floats(JsonNode a) {
        float[] r = new float[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = (float) a.get(i).asDouble();
        return r;
    }
}
