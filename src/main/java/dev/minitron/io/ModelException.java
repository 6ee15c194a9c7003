package dev.minitron.io;

/**
 * A problem with the user's input (file, tensor, flag, prompt) that the CLI reports as one line and a
 * non-zero exit, without a stack trace. The message names the file/tensor/flag and what was expected.
 */
public class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
