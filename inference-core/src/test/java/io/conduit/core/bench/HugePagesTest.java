package io.conduit.core.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class HugePagesTest {
    @Test
    void buffersAreHugePageAlignedAndAdvisedWhereTheKernelAllowsIt() throws Exception {
        Path thp = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        boolean thpAvailable = Files.exists(thp) && !Files.readString(thp).contains("[never]");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = HugePages.allocate(arena, 3 * HugePages.SIZE);
            assertThat(s.address() % HugePages.SIZE).isZero();
            assertThat(s.byteSize()).isEqualTo(3 * HugePages.SIZE);
            s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, s.byteSize() - 1, (byte) 7); // still ordinary memory
            assertThat(s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, s.byteSize() - 1)).isEqualTo((byte) 7);
            assertThat(HugePages.advise(s)).isEqualTo(thpAvailable);
        }
    }
}
