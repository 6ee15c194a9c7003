package dev.minitron.model;

import dev.minitron.tensor.Tensor;
import dev.minitron.tokenizer.Tokenizer;

import java.util.List;
import java.util.Map;

/**
 * A loaded model: its configuration, its weights (views into mapped files), its tokenizer, and where it came
 * from. {@code warnings} are one-line notes about the input that the CLI prints on stderr (e.g. a corrected
 * rotary dimension count in a GGUF).
 */
public record Model(Config config, Weights weights, Tokenizer tokenizer, String source, String format,
                    Map<String, Tensor> tensors, List<String> warnings) {}
