package io.conduit.core.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Native buffers backed by transparent huge pages where the OS allows it ({@code madvise(MADV_HUGEPAGE)}, Linux).
 * With 4 KiB pages a streaming read pays a TLB miss and a restart of the hardware prefetcher every 4 KiB; the
 * decode kernels read the JVM heap, which the launcher backs with huge pages ({@code -XX:+UseTransparentHugePages}),
 * so the bandwidth they are measured against must be read through huge pages too, or the roof is set too low.
 */
final class HugePages {
    static final long SIZE = 2L << 20;
    private static final int MADV_HUGEPAGE = 14;
    private static final MethodHandle MADVISE = lookupMadvise();

    private HugePages() {
    }

    /** A zeroed, 2 MiB-aligned segment of {@code bytes}, advised for huge pages when possible. */
    static MemorySegment allocate(Arena arena, long bytes) {
        MemorySegment s = arena.allocate(bytes, SIZE);
        advise(s);
        return s;
    }

    /** Whether the kernel accepted the advice (false off Linux, or with THP disabled). */
    static boolean advise(MemorySegment s) {
        if (MADVISE == null) return false;
        try {
            return (int) MADVISE.invokeExact(s, s.byteSize(), MADV_HUGEPAGE) == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    private static MethodHandle lookupMadvise() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) return null;
        try {
            Linker linker = Linker.nativeLinker();
            Optional<MemorySegment> f = linker.defaultLookup().find("madvise");
            return f.map(addr -> linker.downcallHandle(addr, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))).orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
