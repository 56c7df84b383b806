package dev.falgate.job;

/** Drives a worker by hand, as its background loop would, until nothing is due at the clock's current time. */
final class WorkerRuns {

    private WorkerRuns() {
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
