package dev.falgate.job;

import org.springframework.context.ApplicationContext;

/** Drives a worker by hand, as its background loop would, until nothing is due at the clock's current time. */
public final class WorkerRuns {

    private WorkerRuns() {
    }

    /** Runs the application's own worker until idle. */
    public static void untilIdle(ApplicationContext application) {
        untilIdle(application.getBean(JobWorker.class));
    }

    /** Other tests' jobs share the table, so one round may be taken by them: run until a round finds nothing. */
    static void untilIdle(JobWorker worker) {
        for (int round = 0; round < 100; round++) {
            if (worker.runOnce() == 0) {
                return;
            }
        }
        throw new AssertionError("the worker still found due jobs after 100 rounds");
    }
}
