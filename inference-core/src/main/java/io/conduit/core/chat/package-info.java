/**
 * Chat prompt formatting with Hugging Face chat templates (Jinja2 via Jinjava); see
 * {@link io.conduit.core.chat.ChatTemplate} for the supported conventions and the ChatML fallback.
 */
package io.conduit.core.chat;
