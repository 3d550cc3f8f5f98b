package io.conduit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conduit.core.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The `conduit generate --json` contract other tools rely on. */
class GenerateCommandTest {
    record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            var cli = ConduitCli.commandLine();
            cli.setErr(new PrintWriter(err));
            int exit = cli.execute(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(original);
        }
    }

    @Test
    void jsonOutputCarriesTheContractFieldsAndGreedyMatchesGolden() throws Exception {
        JsonNode golden = TestModels.golden("stories260K.golden.json");
        Run r = run("generate", "--model", TestModels.stories260k().toString(), "--prompt-ids", "1",
                "--max-tokens", "20", "--temperature", "0", "--ignore-eos", "--json");
        assertThat(r.exit()).isZero();
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertThat(o.get("prompt_ids").toString()).isEqualTo("[1]");
        assertThat(TestModels.ints(o.get("token_ids")))
                .containsExactly(java.util.Arrays.copyOf(TestModels.ints(golden.get("greedy_ids")), 20));
        assertThat(golden.get("greedy_text").asText()).startsWith(o.get("text").asText());
        assertThat(o.get("finish_reason").asText()).isEqualTo("length");
        assertThat(o.get("usage").get("completion_tokens").asInt()).isEqualTo(20);
    }

    @Test
    void textPromptsAreTokenizedWithBos() throws Exception {
        Run r = run("generate", "--model", TestModels.tinyStoriesHf().toString(), "--prompt", "Once upon a time",
                "--max-tokens", "5", "--temperature", "0.7", "--seed", "1", "--json");
        assertThat(r.exit()).isZero();
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertThat(o.get("prompt_ids").get(0).asInt()).isEqualTo(1); // <|start_story|> is this model's BOS
        assertThat(o.get("token_ids")).hasSize(5);
    }

    @Test
    void badInputExitsWithCodeTwoAndOneLine() {
        Run missing = run("generate", "--model", "/definitely/missing.gguf", "--prompt", "x", "--json");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("model not found: /definitely/missing.gguf").doesNotContain("\tat ");
        Run badTemp = run("generate", "--model", TestModels.stories260k().toString(), "--prompt", "x", "--temperature", "5");
        assertThat(badTemp.exit()).isEqualTo(2);
        assertThat(badTemp.err()).contains("temperature");
        Run badId = run("generate", "--model", TestModels.stories260k().toString(), "--prompt-ids", "1,100000");
        assertThat(badId.exit()).isEqualTo(2);
        assertThat(badId.err()).contains("token id 100000 is outside the vocabulary");
    }
}
