package dev.minitron.cpu;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Float arrays whose first element starts a 64-byte cache line, for activations that vector kernels read many times
 * over. Java puts an array wherever the heap has room (8-byte steps), and a 64-byte vector load that starts inside a
 * line touches two. Measured on the 4B Q4_K_M decode (Zen 4, 2 threads, the same reused array alternating in one
 * process): 105 ms per token with the lane kernels' activations at byte 0 or 32 of a line, 109-110 at 40, 48 or 56,
 * 126-129 at 8, 16 or 24; a fresh array per call averaged 115.
 *
 * <p>Java has no API for an array's address, but a critical downcall may take a heap array and passes the native
 * code its address: {@code memset(a, 0, 0)} writes nothing and returns it. The garbage collector may move the array
 * afterwards (young arrays move at each young collection), so callers check again before each use; where the
 * downcall is unavailable (no {@code memset} in the default lookup, native access denied) every array counts as
 * aligned, which only costs speed.
 */
final class LineAligned {
    private LineAligned() {}

    private static final MethodHandle MEMSET = memset();

    private static MethodHandle memset() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.downcallHandle(linker.defaultLookup().find("memset").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                    Linker.Option.critical(true));
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** True if {@code a[0]} starts a cache line now (or if that cannot be found out). */
    static boolean isAligned(float[] a) {
        return offset(a) == 0;
    }

    /** Bytes from the start of the cache line that holds {@code a[0]} to it; 0 if unknown. */
    static int offset(float[] a) {
        if (MEMSET == null) return 0;
        try {
            return (int) (((MemorySegment) MEMSET.invokeExact(MemorySegment.ofArray(a), 0, 0L)).address() & 63);
        } catch (Throwable e) {
            return 0;
        }
    }

    /** A new array of at least {@code n} floats that starts a cache line (as far as {@link #isAligned} can tell). */
    static float[] array(int n) {
        for (int i = 0; i < 32; i++) {
            float[] a = new float[n + 2 * i];   // 8 bytes longer each time, so the next one starts elsewhere in its line
            if (isAligned(a)) return a;
        }
        return new float[n];
    }
}
