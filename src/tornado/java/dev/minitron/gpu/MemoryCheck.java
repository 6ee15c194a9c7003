package dev.minitron.gpu;

import dev.minitron.io.ModelException;
import dev.minitron.model.Config;
import dev.minitron.model.Model;
import dev.minitron.model.Weights;
import dev.minitron.tensor.Tensor;
import uk.ac.manchester.tornado.api.common.TornadoDevice;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Refuses, before anything is copied, a model that will not fit: weights + KV cache + activations against the
 * device's global memory and TornadoVM's own cap ({@code -Dtornado.device.memory}, 4 GB by default), and the
 * largest single array against the device's largest allocation.
 */
final class MemoryCheck {
    private MemoryCheck() {}

    static final String LIMIT_PROPERTY = "tornado.device.memory";

    static void check(Model m, int context, int chunk, TornadoDevice dev) {
        Config c = m.config();
        checkIndexable(c, context, chunk);
        long weights = DeviceWeights.bytes(m.weights());
        long kv = Buffers.kvCacheBytes(c, context);
        long activations = Buffers.bytes(c, context, chunk) - kv;
        long total = weights + kv + activations;
        long device = dev.getMaxGlobalMemory(), limit = tornadoLimit();
        String where = Devices.describe(dev);
        String needs = String.format(Locale.ROOT, "the model needs %s on %s (weights %s %s + KV cache %s for %d positions + activations %s)",
                gb(total), where, gb(weights), dtypes(m.weights()), gb(kv), context, gb(activations));
        if (total > device) {
            throw new ModelException("--backend tornado: " + needs + " but the device has " + gb(device)
                    + ": use a smaller dtype (e.g. minitron convert --type q8_0) or a smaller context (-c)");
        }
        if (total > limit) {
            throw new ModelException("--backend tornado: " + needs + " but TornadoVM may use " + gb(limit) + " (" + LIMIT_PROPERTY
                    + "): raise it with JAVA_OPTS=-D" + LIMIT_PROPERTY + "=" + (int) Math.ceil(total / 1073741824.0 + 0.5)
                    + "GB (the device has " + gb(device) + "), or use a smaller dtype or context (-c)");
        }
        long host = maxDirectMemory();
        if (total > host) { // TornadoVM's arrays are off-heap segments, counted against the JVM's direct-memory limit
            throw new ModelException("--backend tornado: " + needs + ", copied into TornadoVM arrays on the host first, but this JVM may allocate "
                    + gb(host) + " off the heap (-XX:MaxDirectMemorySize, which defaults to -Xmx): raise it with JAVA_OPTS=-XX:MaxDirectMemorySize="
                    + (int) Math.ceil(total / 1073741824.0 + 1) + "g (bin/minitron sets it to the machine's memory)");
        }
        Tensor largest = largest(m.weights());
        long maxAlloc = dev.getMaxAllocMemory();
        if (maxAlloc > 0 && largest.data().byteSize() > maxAlloc) {
            throw new ModelException("--backend tornado: tensor '" + largest.name() + "' has " + gb(largest.data().byteSize())
                    + " but " + where + " allocates at most " + gb(maxAlloc) + " per buffer: use a smaller dtype (e.g. minitron convert --type q8_0)");
        }
    }

    /** TornadoVM's device-memory cap, parsed the way TornadoVM parses it ("4GB", "512MB", bytes). */
    static long tornadoLimit() {
        String s = System.getProperty(LIMIT_PROPERTY, "4GB").trim().toUpperCase(Locale.ROOT);
        try {
            if (!s.endsWith("B")) return Long.parseLong(s);
            int unit = "KMGTPE".indexOf(s.charAt(s.length() - 2));
            if (unit < 0) return Long.parseLong(s.substring(0, s.length() - 1));
            return Long.parseLong(s.substring(0, s.length() - 2)) << (10 * (unit + 1));
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            throw new ModelException("-D" + LIMIT_PROPERTY + "=" + s + ": expected a size like 4GB or 512MB");
        }
    }

    /** The JVM's limit on off-heap allocations: -XX:MaxDirectMemorySize, or the heap's maximum when it is not set. */
    static long maxDirectMemory() {
        try {
            var hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            long v = hs == null ? 0 : Long.parseLong(hs.getVMOption("MaxDirectMemorySize").getValue());
            return v > 0 ? v : Runtime.getRuntime().maxMemory();
        } catch (RuntimeException e) {
            return Long.MAX_VALUE; // unknown: do not refuse
        }
    }

    /** Every device buffer is indexed with Java ints: refuse shapes whose scratch would not be. */
    private static void checkIndexable(Config c, int context, int chunk) {
        long scores = (long) chunk * c.numHeads() * context, cache = (long) context * c.kvDim(), logits = (long) chunk * c.vocabSize();
        if (Math.max(scores, Math.max(cache, logits)) > Integer.MAX_VALUE - 64) {
            throw new ModelException("--backend tornado: a context of " + context + " positions is too large for one device buffer; use a smaller -c");
        }
    }

    private static Tensor largest(Weights w) {
        Tensor best = w.embed().data().byteSize() >= w.lmHead().data().byteSize() ? w.embed() : w.lmHead();
        for (Weights.Layer l : w.layers()) {
            for (Tensor t : l.matrices()) {
                if (t.data().byteSize() > best.data().byteSize()) best = t;
            }
        }
        return best;
    }

    private static String dtypes(Weights w) {
        Set<String> s = new TreeSet<>();
        s.add(w.embed().dtype().toString());
        s.add(w.lmHead().dtype().toString());
        for (Weights.Layer l : w.layers()) {
            for (Tensor t : l.matrices()) s.add(t.dtype().toString());
        }
        return String.join("/", s);
    }

    /** Binary units, as TornadoVM's own "4GB" means 4 GiB. */
    static String gb(long bytes) {
        return bytes >= (1L << 27) ? String.format(Locale.ROOT, "%.1f GB", bytes / 1073741824.0)
                : String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0);
    }
}
