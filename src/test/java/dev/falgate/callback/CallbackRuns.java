package dev.falgate.callback;

import org.springframework.context.ApplicationContext;

/** Drives the callback worker by hand, as its background loop would, until no event is due at the clock's time. */
public final class CallbackRuns {

    private CallbackRuns() {
    }

    public static void untilIdle(ApplicationContext application) {
        CallbackWorker worker = application.getBean(CallbackWorker.class);
        for (int round = 0; round < 100; round++) {
            int started = worker.runOnce();
            worker.awaitIdle();
            if (started == 0) {
                return;
            }
        }
        throw new AssertionError("the callback worker still found due events after 100 rounds");
    }
}
