package io.conduit.core.chat;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.conduit.core.chat.ChatMessage.assistant;
import static io.conduit.core.chat.ChatMessage.system;
import static io.conduit.core.chat.ChatMessage.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Real public chat templates (test resources, copied from the models' tokenizer_config.json) rendered with
 * HF conventions; expected strings derived by reading each template.
 */
class ChatTemplateTest {

    static final List<ChatMessage> WITH_SYSTEM = List.of(
            system("You are terse."), user(" Hi there "), assistant("Hello!"), user("2+2?"));
    static final List<ChatMessage> NO_SYSTEM = List.of(user("Hi"), assistant("Hello!"), user("2+2?"));

    static ChatTemplate template(String name, String bos, String eos) {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/chat/" + name)) {
            return ChatTemplate.fromSource(new String(in.readAllBytes(), StandardCharsets.UTF_8), bos, eos);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void llama3Instruct() {
        ChatTemplate t = template("llama3-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>");
        // bos only before the first message; content | trim binds before '+'
        assertThat(t.render(WITH_SYSTEM, true)).isEqualTo(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(t.render(NO_SYSTEM, false)).isEqualTo(
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>");
        assertThat(t.isFallback()).isFalse();
    }

    @Test
    void qwen2ChatMl() {
        ChatTemplate t = template("qwen2-chatml.jinja", null, "<|im_end|>");
        // default system prompt only when the first message is not a system one (loop.first)
        assertThat(t.render(NO_SYSTEM, true)).isEqualTo(
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(WITH_SYSTEM, false)).isEqualTo(
                "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n Hi there <|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n");
    }

    @Test
    void mistralInstruct() {
        ChatTemplate t = template("mistral-instruct.jinja", "<s>", "</s>");
        assertThat(t.render(NO_SYSTEM, true)).isEqualTo("<s>[INST] Hi [/INST]Hello!</s>[INST] 2+2? [/INST]");
        assertThat(t.render(List.of(user("Hi")), false)).isEqualTo("<s>[INST] Hi [/INST]");
    }

    @Test
    void mistralRaiseExceptionMessageIsPreserved() {
        ChatTemplate t = template("mistral-instruct.jinja", "<s>", "</s>");
        assertThatThrownBy(() -> t.render(WITH_SYSTEM, true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("Conversation roles must alternate user/assistant/user/assistant/...");
        assertThatThrownBy(() -> t.render(List.of(user("a"), user("b")), true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("Conversation roles must alternate user/assistant/user/assistant/...");
        assertThatThrownBy(() -> t.render(List.of(user("a"), new ChatMessage("tool", "x")), true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("Only user and assistant roles are supported!");
    }

    @Test
    void llama2Chat() {
        ChatTemplate t = template("llama2-chat.jinja", "<s>", "</s>");
        // messages[1:] slicing, system folded into the first user turn, content.strip()
        assertThat(t.render(WITH_SYSTEM, true)).isEqualTo(
                "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\n Hi there [/INST] Hello! </s><s>[INST] 2+2? [/INST]");
        assertThat(t.render(NO_SYSTEM, false)).isEqualTo("<s>[INST] Hi [/INST] Hello! </s><s>[INST] 2+2? [/INST]");
        assertThatThrownBy(() -> t.render(List.of(assistant("x")), false))
                .isInstanceOf(ChatTemplateException.class).hasMessageContaining("must alternate");
    }

    @Test
    void zephyrNeedsTrimAndLstripBlocks() {
        // Multi-line template: the newline after each block tag is trimmed (trim_blocks); the one after each
        // {{ ... }} is kept; the final newline of the file is dropped (keep_trailing_newline=False).
        ChatTemplate t = template("zephyr.jinja", "<s>", "</s>");
        assertThat(t.render(WITH_SYSTEM, true)).isEqualTo(
                "<|system|>\nYou are terse.</s>\n<|user|>\n Hi there </s>\n<|assistant|>\nHello!</s>\n"
                + "<|user|>\n2+2?</s>\n<|assistant|>\n");
        assertThat(t.render(NO_SYSTEM, false)).isEqualTo("<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\n2+2?</s>\n");
    }

    @Test
    void fallbackIsChatMl() {
        ChatTemplate t = ChatTemplate.fromSource(null, "<s>", "</s>");
        assertThat(t.isFallback()).isTrue();
        assertThat(ChatTemplate.fromSource("  \n", null, null).isFallback()).isTrue();
        assertThat(t.render(List.of(system("S"), user("Hi")), true))
                .isEqualTo("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(List.of(user("Hi")), false)).isEqualTo("<|im_start|>user\nHi<|im_end|>\n");
        assertThat(t.render(List.of(), false)).isEmpty();
    }

    @Test
    void jinjaFeaturesUsedByTemplates() {
        String src = """
                {%- for m in messages %}
                    {%- if loop.first %}[{% endif -%}
                    {{ m.role }}={{ m['content'] | trim }}
                    {%- if not loop.last %}, {% else %}]{% endif %}
                {%- endfor %}
                {% if add_generation_prompt and bos_token is defined %}<{{ bos_token }}|{{ eos_token }}>{% endif %}
                """;
        ChatTemplate t = ChatTemplate.fromSource(src, "B", "E");
        assertThat(t.render(List.of(user("  a "), assistant("b\n")), true)).isEqualTo("[user=a, assistant=b]<B|E>");
        assertThat(t.render(List.of(user("x")), false)).isEqualTo("[user=x]");
        // whitespace before a tag in mid-line is text, not stripped by lstrip_blocks
        assertThat(ChatTemplate.fromSource("{% if true %}a {% endif %}|  {# c #}b", null, null).render(List.of(), false))
                .isEqualTo("a |  b");
    }

    @Test
    void lstripBlocksRemovesIndentationBeforeBlockTags() {
        String src = "A\n    {% if true %}\n    x\n    {% endif %}\nB";
        // lstrip_blocks removes the spaces before the tags, trim_blocks the newline after them
        assertThat(ChatTemplate.fromSource(src, null, null).render(List.of(), false)).isEqualTo("A\n    x\nB");
    }

    @Test
    void pythonStringMethodsWork() {
        String src = "{% for m in messages %}{% if m['content'].startswith('He') and m.content.endswith('o ') %}"
                + "{{ m.content.upper() }}|{{ m.content.lower() }}|{{ m.content.lstrip() }}|{{ m.content.rstrip() }}|"
                + "{{ m.content.strip() }}|{{ m.content.replace('l', 'L') }}{% endif %}{% endfor %}";
        assertThat(ChatTemplate.fromSource(src, null, null).render(List.of(user("Hello ")), false))
                .isEqualTo("HELLO |hello |Hello |Hello|Hello|HeLLo ");
        // text outside tags is left alone
        assertThat(ChatTemplate.fromSource("x.upper()", null, null).render(List.of(), false)).isEqualTo("x.upper()");
    }

    @Test
    void filteredForLoopIsRejectedNotSilentlyEmpty() {
        assertThatThrownBy(() -> ChatTemplate.fromSource(
                "{% for m in messages if m.role == 'user' %}{{ m.content }}{% endfor %}", null, null))
                .isInstanceOf(ChatTemplateException.class).hasMessageContaining("filtered for loop");
    }

    @Test
    void templateAndSpecialTokensFromTokenizer() throws Exception {
        var tok = io.conduit.core.tokenizer.Tokenizers.fromTokenizerJson(java.nio.file.Path.of(
                ChatTemplateTest.class.getResource("/tokenizer/bytelevel/tokenizer.json").toURI()));
        ChatTemplate t = ChatTemplate.fromTokenizer(tok);
        assertThat(t.isFallback()).isFalse();
        String prompt = t.render(List.of(user("he")), true);
        assertThat(prompt).isEqualTo("<|im_start|>user\nhe<|im_end|>\n<|im_start|>assistant\n");
        int[] ids = tok.encode(prompt, false, true);
        assertThat(ids).startsWith(260).contains(261);
        assertThat(tok.decode(ids)).isEqualTo(prompt);
    }

    @Test
    void syntaxErrorsAreReported() {
        assertThatThrownBy(() -> ChatTemplate.fromSource("{% for m in messages %}{{ m.role }}", null, null))
                .isInstanceOf(ChatTemplateException.class).hasMessageContaining("syntax");
        assertThatThrownBy(() -> ChatTemplate.fromSource("{% if %}x{% endif %}", null, null))
                .isInstanceOf(ChatTemplateException.class);
    }
}
