package dev.falgate.archive;

import org.springframework.context.ApplicationContext;

/** Drives the archive worker by hand, as its background loop would, until no copy is due at the clock's time. */
public final class ArchiveRuns {

    private ArchiveRuns() {
    }

    public static void untilIdle(ApplicationContext application) {
        ArchiveWorker worker = application.getBean(ArchiveWorker.class);
        for (int round = 0; round < 100; round++) {
            int started = worker.runOnce();
            worker.awaitIdle();
            if (started == 0) {
                return;
            }
        }
        throw new AssertionError("the archive worker still found due copies after 100 rounds");
    }
}
