package io.conduit.cli;

import io.conduit.core.quant.Quantizer;
import io.conduit.core.tensor.GgmlType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code ./conduit quantize IN OUT --type q8_0|q4_0}: rewrites a GGUF model with quantized weight matrices. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Converts the F32/F16/BF16 weight matrices of a GGUF model to Q8_0 or Q4_0 (ggml's reference "
                + "quantizers) and writes a GGUF file that Conduit and other GGUF tools read. Norms, biases and "
                + "already-quantized tensors are copied unchanged; all metadata is kept.")
public final class QuantizeCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "input GGUF file")
    Path in;

    @Parameters(index = "1", description = "output GGUF file")
    Path out;

    @Option(names = "--type", required = true, description = "q8_0 or q4_0")
    String type;

    @Override
    public Integer call() {
        GgmlType target = Quantizer.parseTarget(type);
        if (!Files.isRegularFile(in)) throw new IllegalArgumentException("input not found: " + in);
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("output must differ from input");
        }
        long t0 = System.nanoTime();
        Quantizer.Report r = Quantizer.quantizeFile(in, out, target);
        System.out.printf(Locale.ROOT, "%s: %d tensors quantized to %s, %d copied; %.1f MB -> %.1f MB in %.1f s%n",
                out, r.converted(), target.name().toLowerCase(Locale.ROOT), r.copied(), r.inBytes() / 1e6,
                r.outBytes() / 1e6, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
