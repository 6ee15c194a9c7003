package dev.minitron.engine;

import dev.minitron.tokenizer.StreamDecoder;
import dev.minitron.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * The generation loop: batched prefill of the prompt (in chunks of {@value #PREFILL_CHUNK} positions), then one
 * token at a time through the KV cache until EOS, the token limit, a stop string or the end of the context.
 * Text streams to a callback as soon as it is complete UTF-8, held back only while it could still turn into a
 * stop string.
 */
public final class Generator {
    private Generator() {}

    /** Prompt positions run through the model in one batch (bounds activation memory for long prompts). */
    public static final int PREFILL_CHUNK = 256;

    /**
     * @param maxTokens generate at most this many tokens
     * @param ignoreEos keep going after the end-of-sequence token
     * @param stops     stop strings: generation ends when the text contains one, and it is cut there
     */
    public record Options(int maxTokens, boolean ignoreEos, List<String> stops, Sampler.Options sampling) {}

    /** What was generated; {@code stopReason} is one of eos, length, stop, context. */
    public record Result(int[] promptTokens, int[] generated, String text, String stopReason,
                         double prefillMs, double decodeMs) {
        public double prefillTokensPerSecond() { return promptTokens.length / (prefillMs / 1000.0); }

        /** Decode speed: tokens after the first (which comes from the prefill's logits) per second of decode time. */
        public double decodeTokensPerSecond() {
            return decodeMs <= 0 ? 0 : Math.max(0, generated.length - 1) / (decodeMs / 1000.0);
        }
    }

    /** Runs the prompt through the model (in chunks) and returns the last position's logits. */
    public static float[] prefill(ForwardPass f, int[] prompt) {
        float[] logits = null;
        for (int from = 0; from < prompt.length; from += PREFILL_CHUNK) {
            int to = Math.min(prompt.length, from + PREFILL_CHUNK);
            logits = f.forward(Arrays.copyOfRange(prompt, from, to), from, false);
        }
        return logits;
    }

    public static Result generate(ForwardPass f, Tokenizer tok, int[] prompt, Options o, Consumer<String> out) {
        if (prompt.length == 0) throw new IllegalArgumentException("empty prompt");
        Sampler sampler = new Sampler(o.sampling());
        int[] history = Arrays.copyOf(prompt, prompt.length + Math.max(0, o.maxTokens()));
        int n = prompt.length;

        long t0 = System.nanoTime();
        float[] logits = prefill(f, prompt);
        long t1 = System.nanoTime();

        StreamDecoder dec = tok.streamDecoder(false);
        StringBuilder text = new StringBuilder();
        int emitted = 0;
        int holdBack = o.stops().stream().mapToInt(String::length).max().orElse(1) - 1;
        String reason = "length";
        int count = 0;
        // plain greedy decoding needs only the arg-max: let the backend compute it (on a GPU, no logits copy)
        boolean greedy = o.sampling().temperature() <= 0f && o.sampling().repeatPenalty() == 1f;
        int chosen = -1;
        while (count < o.maxTokens()) {
            int next = chosen >= 0 ? chosen : sampler.sample(logits, history, n);
            history[n++] = next;
            count++;
            if (next == tok.eosId() && !o.ignoreEos()) {
                reason = "eos";
                break;
            }
            text.append(dec.push(next));
            int cut = firstStop(text, o.stops());
            if (cut >= 0) {
                text.setLength(cut);
                reason = "stop";
                break;
            }
            int safe = text.length() - holdBack;
            if (safe > emitted && Character.isHighSurrogate(text.charAt(safe - 1))) safe--;
            if (safe > emitted) {
                out.accept(text.substring(emitted, safe));
                emitted = safe;
            }
            if (count == o.maxTokens()) break;
            if (n >= f.context()) {
                reason = "context";
                break;
            }
            if (greedy) chosen = f.forwardArgmax(new int[]{next}, n - 1);
            else logits = f.forward(new int[]{next}, n - 1, false);
        }
        long t2 = System.nanoTime();
        if (!reason.equals("stop")) text.append(dec.flush());
        if (text.length() > emitted) out.accept(text.substring(emitted));

        int[] gen = Arrays.copyOfRange(history, prompt.length, n);
        int[] kept = reason.equals("eos") ? Arrays.copyOf(gen, gen.length - 1) : gen;
        String finalText = reason.equals("stop") ? stripLeadingSpace(text.toString()) : tok.decode(kept);
        return new Result(prompt, gen, finalText, reason, (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    }

    /** HF's decode drops the space that the first piece's word-boundary marker stands for; do the same. */
    private static String stripLeadingSpace(String s) {
        return s.startsWith(" ") ? s.substring(1) : s;
    }

    private static int firstStop(CharSequence text, List<String> stops) {
        int best = -1;
        String s = text.toString();
        for (String stop : stops) {
            if (stop.isEmpty()) continue;
            int i = s.indexOf(stop);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }
}
