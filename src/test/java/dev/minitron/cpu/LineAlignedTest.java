package dev.minitron.cpu;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LineAlignedTest {
    /** Plain arrays start at many places in their cache lines; the reported offsets are where the heap put them. */
    @Test
    void offsetsOfPlainArraysVary() {
        Set<Integer> seen = new HashSet<>();
        Object[] keep = new Object[64];
        for (int i = 0; i < keep.length; i++) {
            float[] a = new float[100 + i];
            keep[i] = a;
            int off = LineAligned.offset(a);
            assertTrue(off >= 0 && off < 64 && off % 8 == 0, "offset " + off);
            seen.add(off);
        }
        assertTrue(seen.size() >= 4, "offsets seen: " + seen);
    }

    /**
     * {@link LineAligned#array} starts at a cache line. A garbage collection between the allocation and the check
     * could move an array, so this allows one miss in twenty; plain arrays start a line about once in eight.
     */
    @Test
    void arraysStartACacheLine() {
        int aligned = 0;
        for (int i = 0; i < 20; i++) {
            float[] a = LineAligned.array(3072 + 17 * i);
            assertTrue(a.length >= 3072 + 17 * i);
            if (LineAligned.offset(a) == 0) aligned++;
        }
        assertTrue(aligned >= 19, aligned + " of 20 aligned");
        assertEquals(0, LineAligned.offset(LineAligned.array(9792)) % 64);
    }
}
