package io.conduit.gateway;

import java.util.function.Supplier;

/**
 * The gateway meters in fixed clock windows: rate limits per minute, token budgets per UTC day (or month).
 * A scenario whose assertions assume a single window runs through these, so that crossing a boundary mid-way
 * cannot decide the outcome.
 */
public final class ClockWindows {
    private ClockWindows() {
    }

    /** Runs {@code scenario} so that it starts and ends in the same clock minute; see {@link #within}. */
    public static <T> T withinOneMinute(Supplier<T> scenario) {
        return within(60_000L, 5_000L, scenario);
    }

    /** Runs {@code scenario} so that it starts and ends on the same UTC day (so in the same month too). */
    public static <T> T withinOneUtcDay(Supplier<T> scenario) {
        return within(86_400_000L, 30_000L, scenario);
    }

    /**
     * Runs {@code scenario} so that it starts and ends in one epoch-aligned window of {@code periodMs} (epoch
     * days are UTC days): it starts in the next window when less than {@code marginMs} remain, and it is run
     * again if it still crossed a boundary. So the scenario must start from fresh state every time (new keys or
     * teams) and return what it observed, to be asserted on afterwards.
     */
    static <T> T within(long periodMs, long marginMs, Supplier<T> scenario) {
        for (int attempt = 1; ; attempt++) {
            long left = periodMs - System.currentTimeMillis() % periodMs;
            if (left < marginMs) sleep(left + 50);
            long window = System.currentTimeMillis() / periodMs;
            T observed = scenario.get();
            if (System.currentTimeMillis() / periodMs == window) return observed;
            if (attempt == 3) throw new AssertionError("the scenario crossed a " + periodMs + " ms window boundary 3 times");
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
