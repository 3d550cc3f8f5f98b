package io.conduit.core.sampling;

import java.util.List;
import java.util.Objects;

/**
 * Applies stop strings to streamed text (one instance per sequence, not thread-safe).
 *
 * <p>{@link #feed(String)} returns the text that is safe to emit now: it holds back the longest tail that could
 * still grow into a stop string (and a trailing lone high surrogate, so a surrogate pair is never split). When a
 * stop string is complete, the text before it is emitted, the stop string itself and everything after it are
 * dropped (OpenAI excludes the stop string from the output) and the matcher is finished: later feeds return
 * nothing. Matching behaves as if the text were examined one character at a time: the stop string completed
 * first (earliest end; on a tie the one starting earlier) wins, so the result does not depend on how the text is
 * split into chunks. {@link #flush()} releases the held-back text at the end of generation.
 */
public final class StopStringMatcher {
    /** The outcome of one {@link #feed(String)}. */
    /**
     * @param text       text that may be emitted now (never contains a stop string)
     * @param stopped    whether a stop string has been reached: end generation with finish_reason "stop"
     * @param stopString the stop string that matched (vLLM's stop_reason), or {@code null}
     */
    public record Result(String text, boolean stopped, String stopString) {}

    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private String matched;

    /** @param stopStrings the stop strings (non-empty strings; an empty list disables matching) */
    public StopStringMatcher(List<String> stopStrings) {
        this.stops = List.copyOf(stopStrings);
        for (String s : stops) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must be non-empty");
            }
        }
    }

    /** Feeds newly decoded text; returns what may be emitted now and whether a stop string was reached. */
    public Result feed(String newText) {
        Objects.requireNonNull(newText, "newText");
        if (matched != null) {
            return new Result("", true, matched);
        }
        held.append(newText);
        // A complete stop string anywhere in the unreleased text (held tail + new text)?
        int bestEnd = Integer.MAX_VALUE;
        int bestStart = -1;
        String best = null;
        for (String s : stops) {
            int start = held.indexOf(s);
            if (start >= 0) {
                int end = start + s.length();
                if (end < bestEnd || (end == bestEnd && start < bestStart)) {
                    bestEnd = end;
                    bestStart = start;
                    best = s;
                }
            }
        }
        if (best != null) {
            matched = best;
            String out = held.substring(0, bestStart);
            held.setLength(0);
            return new Result(out, true, best);
        }
        int keep = heldBackLength();
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return new Result(out, false, null);
    }

    /** Releases the held-back text (end of generation); empty once a stop string matched. */
    public String flush() {
        String out = held.toString();
        held.setLength(0);
        return out;
    }

    /** Whether a stop string has matched. */
    public boolean stopped() {
        return matched != null;
    }

    /** The stop string that matched, or {@code null}. */
    public String matchedStop() {
        return matched;
    }

    /** Length of the longest tail of {@link #held} that is a proper prefix of some stop string. */
    private int heldBackLength() {
        int len = held.length();
        int keep = 0;
        for (String s : stops) {
            for (int l = Math.min(s.length() - 1, len); l > keep; l--) {
                if (regionEquals(len - l, s, l)) {
                    keep = l;
                    break;
                }
            }
        }
        if (keep == 0 && len > 0 && Character.isHighSurrogate(held.charAt(len - 1))) {
            keep = 1;
        }
        return keep;
    }

    private boolean regionEquals(int from, String s, int l) {
        for (int i = 0; i < l; i++) {
            if (held.charAt(from + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
