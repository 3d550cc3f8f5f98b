package io.conduit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** Entry point of {@code ./conduit}: one subcommand per tool. */
@Command(name = "conduit", mixinStandardHelpOptions = true, version = "conduit 0.1.0",
        description = "Conduit: an internal LLM platform with its own inference core.",
        subcommands = {GenerateCommand.class, BenchCommand.class, QuantizeCommand.class,
                CommandLine.HelpCommand.class})
public final class ConduitCli implements Runnable {
    /** Exit code for bad input (model file, prompt, parameters): the user can fix it. */
    static final int EXIT_BAD_INPUT = 2;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** Errors the user caused print one line naming the problem, never a stack trace. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new ConduitCli());
        cli.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            PrintWriter err = cmd.getErr();
            boolean userError = ex instanceof IllegalArgumentException
                    || ex instanceof io.conduit.core.model.ModelFormatException;
            err.println("conduit: error: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            if (!userError && Boolean.getBoolean("conduit.debug")) ex.printStackTrace(err);
            err.flush();
            return userError ? EXIT_BAD_INPUT : 1;
        });
        return cli;
    }
}
