package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;

/** Two workers (as two gateway instances would) racing over the same due jobs never submit one twice. */
class WorkerRaceTest extends IntegrationTest {

    private static final int JOBS = 50;

    @Autowired
    JobWorker worker;
    @Autowired
    JobClaims claims;
    @Autowired
    JobProcessor processor;
    @Autowired
    WorkerSettings settings;
    @Autowired
    Clock appClock;

    @Test
    void twoWorkersRacingOverFiftyJobsSubmitEachExactlyOnce() throws Exception {
        fal.setTiming(Duration.ofHours(1), Duration.ZERO);
        String marker = UUID.randomUUID().toString();
        for (int i = 0; i < JOBS; i++) {
            assertThat(post("/v1/jobs", validBody(marker + " #" + i)).statusCode()).isEqualTo(202);
        }
        JobWorker rival = new JobWorker(claims, processor, settings, appClock, "rival-instance");
        CyclicBarrier start = new CyclicBarrier(2);
        ExecutorService racers = Executors.newFixedThreadPool(2);
        try {
            List<Future<Integer>> taken = new ArrayList<>();
            for (JobWorker racer : List.of(worker, rival)) {
                taken.add(racers.submit(() -> {
                    start.await();
                    int claimed = 0;
                    for (int round = 0; round < 50 && queued(marker) > 0; round++) {
                        claimed += racer.runOnce();
                    }
                    return claimed;
                }));
            }
            int first = taken.get(0).get();
            int second = taken.get(1).get();

            // other tests' jobs share the table, so the two may have claimed more than ours between them
            assertThat(first + second).as("jobs claimed by %d and %d", first, second).isGreaterThanOrEqualTo(JOBS);
            assertThat(List.of(first, second)).as("both instances took part in the race").allSatisfy(
                    claimed -> assertThat(claimed).isPositive());
            assertThat(queued(marker)).isZero();
        } finally {
            racers.shutdownNow();
            rival.stop();
        }

        assertThat(fal.submissions().stream().filter(r -> r.body().contains(marker)).count()).isEqualTo(JOBS);
        Map<String, Object> rows = jdbc.sql("""
                select count(*) as jobs, count(distinct fal_request_id) as requests, max(attempts) as max_attempts,
                       count(*) filter (where status = 'submitted') as submitted
                  from job where input ->> 'prompt' like :pattern
                """).param("pattern", "%" + marker + "%").query().singleRow();
        assertThat(rows).containsEntry("jobs", (long) JOBS).containsEntry("requests", (long) JOBS)
                .containsEntry("max_attempts", 1).containsEntry("submitted", (long) JOBS);
    }

    private long queued(String marker) {
        return jdbc.sql("select count(*) from job where status = 'queued' and input ->> 'prompt' like :pattern")
                .param("pattern", "%" + marker + "%").query(Long.class).single();
    }
}
