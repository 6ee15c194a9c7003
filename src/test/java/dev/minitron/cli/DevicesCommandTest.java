package dev.minitron.cli;

import org.junit.jupiter.api.Test;

/**
 * {@code minitron devices} in the core test JVM, which never has TornadoVM's runtime: one error line, exit 1.
 * Without the backend compiled in (no TORNADOVM_HOME at build time) the line names TORNADOVM_HOME.
 */
class DevicesCommandTest {
    @Test
    void withoutTornadoVmOneErrorLine() {
        Cli.Run r = Cli.run("devices");
        boolean compiledIn = DevicesCommandTest.class.getClassLoader().getResource("dev/minitron/gpu/TornadoForward.class") != null;
        if (compiledIn) {
            r.userError();
        } else {
            r.userError("TORNADOVM_HOME");
        }
        org.junit.jupiter.api.Assertions.assertEquals(1, r.code());
    }

    @Test
    void listedInHelp() {
        Cli.Run r = Cli.run("--help").ok();
        org.junit.jupiter.api.Assertions.assertTrue(r.out().contains("devices"), r.out());
    }
}
