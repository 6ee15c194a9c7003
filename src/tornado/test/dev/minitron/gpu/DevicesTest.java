package dev.minitron.gpu;

import dev.minitron.io.ModelException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reflective entry points the core calls besides open(): devices() and bandwidthGBps(). */
class DevicesTest {
    @BeforeAll
    static void tornado() {
        OnDevice.assumeTornadoRuntime();
    }

    @Test
    void listsDevicesByBackendAndIndex() {
        List<String> devices = TornadoForward.devices();
        assertTrue(!devices.isEmpty());
        assertTrue(devices.get(0).matches("0:0  \\S.*  \\((OPENCL|PTX|SPIRV|CUDA|METAL), \\d+\\.\\d GB\\)"), devices.get(0));
    }

    /** Positive and finite; a copy kernel on any real device moves more than 0.1 GB/s. */
    @Test
    void bandwidthIsMeasured() {
        double gbps = TornadoForward.bandwidthGBps("0:0");
        assertTrue(gbps > 0.1 && Double.isFinite(gbps), "bandwidth " + gbps);
    }

    @Test
    void deviceIdsAreChecked() {
        assertThrows(ModelException.class, () -> Devices.find("x"));
        assertThrows(ModelException.class, () -> Devices.find("0:99"));
        assertEquals(Devices.find(null).getPhysicalDevice().getDeviceName(), Devices.find("0:0").getPhysicalDevice().getDeviceName());
    }

    @Test
    void localSizesDivideTheGrid() {
        assertEquals(16, Grids.localSize(2048, 16));
        assertEquals(125, Grids.localSize(1000, 128));
        assertEquals(10, Grids.localSize(50, 16));
        assertEquals(1, Grids.localSize(97, 16));
        assertEquals(1, Grids.localSize(1, 16));
    }

    @Test
    void memoryLimitParsesLikeTornadoVM() {
        String old = System.getProperty(MemoryCheck.LIMIT_PROPERTY);
        try {
            System.clearProperty(MemoryCheck.LIMIT_PROPERTY);
            assertEquals(4L << 30, MemoryCheck.tornadoLimit());
            System.setProperty(MemoryCheck.LIMIT_PROPERTY, "512MB");
            assertEquals(512L << 20, MemoryCheck.tornadoLimit());
            System.setProperty(MemoryCheck.LIMIT_PROPERTY, "12345");
            assertEquals(12345L, MemoryCheck.tornadoLimit());
        } finally {
            if (old == null) System.clearProperty(MemoryCheck.LIMIT_PROPERTY);
            else System.setProperty(MemoryCheck.LIMIT_PROPERTY, old);
        }
    }
}
