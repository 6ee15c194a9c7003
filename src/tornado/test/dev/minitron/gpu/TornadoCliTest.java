package dev.minitron.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.minitron.Fixtures;
import dev.minitron.cli.Cli;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End to end through the CLI ({@code Main.run}, in this JVM, which runs under TornadoVM's argfile). */
class TornadoCliTest {
    /** 20+ tokens: the prefill takes two device chunks. */
    static final String PROMPT = "This License applies to any program or other work which contains a notice placed by the copyright holder";

    @BeforeAll
    static void tornado() {
        OnDevice.assumeTornadoRuntime();
    }

    /** Greedy generation gives the same tokens and text on both backends. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-a/hf-fp32", "tiny-b/hf-bf16", "demo"})
    void greedyTokensEqualTheJavaBackend(String model) {
        String path = model.equals("demo") ? Fixtures.demo().toString() : Fixtures.path(model).toString();
        JsonNode java = Cli.run("generate", "-m", path, "-p", PROMPT, "--temp", "0", "--json", "--backend", "java", "-n", "8").json();
        Cli.Run run = Cli.run("generate", "-m", path, "-p", PROMPT, "--temp", "0", "--json", "--backend", "tornado", "-n", "8");
        JsonNode tornado = run.json();
        assertArrayEquals(Cli.ints(java.get("prompt_tokens")), Cli.ints(tornado.get("prompt_tokens")));
        assertTrue(Cli.ints(java.get("prompt_tokens")).length > TornadoForward.CHUNK, "prompt spans two prefill chunks");
        assertArrayEquals(Cli.ints(java.get("generated_tokens")), Cli.ints(tornado.get("generated_tokens")), model + ": generated tokens");
        assertEquals(java.get("text").asText(), tornado.get("text").asText());
        assertTrue(run.err().contains("JIT compile"), run.err());
    }

    /**
     * --profile prints the per-task table once, on stderr; stdout stays one JSON object. The same rows with all
     * layers in one graph (-Dminitron.gpu.graphs=merged): its task names fold into the same rows.
     */
    @ParameterizedTest
    @ValueSource(strings = {"layers", "merged"})
    void profilePrintsTheTaskTable(String graphs) {
        System.setProperty(TornadoForward.GRAPHS, graphs);
        Cli.Run run;
        try {
            run = Cli.run("generate", "-m", Fixtures.path("tiny-a/hf-bf16").toString(), "-p", "Hello", "--temp", "0",
                    "--json", "--backend", "tornado", "--profile", "-n", "4");
        } finally {
            System.clearProperty(TornadoForward.GRAPHS);
        }
        run.json();
        assertTrue(run.err().contains(graphs.equals("merged") ? "2 task graphs" : "5 task graphs"), run.err());
        for (String s : new String[]{"tornado profile:", "layer_*.ffn_up", "MatVec.matVecBF16", "layer_*.attention",
                "output.lm_head", "embedding.embed", "copy in: batch descriptor", "copy out: logits"}) {
            assertTrue(run.err().contains(s), "missing '" + s + "' in:\n" + run.err());
        }
    }

    /** A bad value of one of the backend's settings is one line naming the property and what it takes. */
    @Test
    void badSettingIsAUserError() {
        System.setProperty(TornadoForward.KERNELS, "fast");
        try {
            Cli.run("generate", "-m", Fixtures.path("tiny-a/hf-fp32").toString(), "-p", "Hello", "--backend", "tornado", "-n", "2")
                    .userError("-Dminitron.gpu.kernels=fast", "expected auto, groups, loops");
        } finally {
            System.clearProperty(TornadoForward.KERNELS);
        }
    }

    /** A model over TornadoVM's memory cap is refused with one line saying what to change. */
    @Test
    void modelOverTheMemoryCapIsAUserError() {
        String old = System.getProperty(MemoryCheck.LIMIT_PROPERTY);
        System.setProperty(MemoryCheck.LIMIT_PROPERTY, "1MB");
        try {
            Cli.run("generate", "-m", Fixtures.path("tiny-a/hf-fp32").toString(), "-p", "Hello", "--backend", "tornado", "-n", "2")
                    .userError("the model needs", "weights", "KV cache", "TornadoVM may use 1.0 MB", "-Dtornado.device.memory=", "-c");
        } finally {
            if (old == null) System.clearProperty(MemoryCheck.LIMIT_PROPERTY);
            else System.setProperty(MemoryCheck.LIMIT_PROPERTY, old);
        }
    }

    /** Weight types without a kernel are refused up front. */
    @Test
    void unsupportedQuantizationIsAUserError() {
        Cli.run("generate", "-m", Fixtures.path("tiny-k/gguf/tiny-k-q4_0.gguf").toString(), "-p", "Hello", "--backend", "tornado", "-n", "2")
                .userError("Q4_0", "F32, BF16, F16, Q8_0, Q4_K and Q6_K");
    }

    @Test
    void unknownDeviceIsAUserError() {
        Cli.run("generate", "-m", Fixtures.path("tiny-a/hf-fp32").toString(), "-p", "Hello", "--backend", "tornado", "--device", "7:3", "-n", "2")
                .userError("--device 7:3", "no such TornadoVM device", "0:0");
    }
}
