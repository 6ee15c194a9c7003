package dev.minitron.cli;

import dev.minitron.engine.Backends;
import dev.minitron.io.ModelException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code minitron devices}: the devices TornadoVM sees, one per line, with the id that {@code --device B:D} takes.
 * Needs the TornadoVM backend ({@code bin/minitron} starts this command through TornadoVM's argfile); without it,
 * one {@code error:} line naming {@code TORNADOVM_HOME} and exit 1.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List TornadoVM's devices (ids for --device B:D); needs TORNADOVM_HOME.")
public final class DevicesCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<String> devices = Backends.tornadoDevices();
        if (devices.isEmpty()) {
            throw new ModelException("TornadoVM found no device: check the GPU driver (nvidia-smi) or the OpenCL ICD (clinfo -l)");
        }
        for (String d : devices) out.println(d);
        return 0;
    }
}
