package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.transaction.support.TransactionTemplate;

import dev.falgate.IntegrationTest;
import dev.falgate.fal.FalClient;

/**
 * Nothing lost, nothing paid twice, every cent accounted, while fal misbehaves at random (5xx, 429, 403,
 * dropped connections, lost submit answers, proxies' 502 pages after fal created the request, 2xx answers
 * without a request id, hangs, failing status, result and cancel calls; failures fal bills anyway) and gateway instances die
 * mid-round (after a claim, after marking a submit, after sending it) and others take over.
 */
class ChaosTest extends IntegrationTest {

    private static final int JOBS = 60;
    /** A new seed every run, printed with every assertion: {@code -Dfalgate.chaos.seed=...} replays a failure. */
    private static final long SEED = Long.getLong("falgate.chaos.seed", new Random().nextLong());

    @Autowired
    JobClaims claims;
    @Autowired
    JobProcessor processor;
    @Autowired
    JobRepository jobs;
    @Autowired
    FalClient falClient;
    @Autowired
    TransactionTemplate tx;
    @Autowired
    WorkerSettings settings;
    @Autowired
    Clock appClock;

    @Test
    void everyJobEndsOnceAndTheBooksMatchFalsBill() {
        Random random = new Random(SEED);
        String marker = "chaos-" + UUID.randomUUID();
        // every kind of fault, including answers that leave a submit unknown (a 502 page after fal created the
        // request, a 2xx without request_id, a hang) and faults on status, result and cancel calls
        fal.chaosIncludingUnknowns(marker, SEED, 0.3);
        List<JobWorker> instances = new ArrayList<>(List.of(instance(), instance()));
        List<String> ids = new ArrayList<>();
        int crashes = 0;
        try {
            for (int round = 0; round < 40; round++) {
                for (int i = 0; i < 2 && ids.size() < JOBS; i++) {
                    String prompt = marker + (ids.size() % 12 == 5 ? " [sim:fail]" : ids.size() % 12 == 7
                            ? " [sim:fail-billed]" : "") + " #" + ids.size();
                    ids.add(body(post("/v1/jobs", validBody(prompt))).path("id").asString());
                }
                if (round % 4 == 3) {
                    crashes++;
                    crashMidRound("crashed-" + crashes, ids, random);
                    instances.set(random.nextInt(instances.size()), instance()); // a new instance replaces one
                }
                if (random.nextInt(10) == 0 && !ids.isEmpty()) {
                    send(request("/v1/jobs/" + ids.get(random.nextInt(ids.size())) + "/cancel")
                            .POST(HttpRequest.BodyPublishers.noBody()));
                }
                for (JobWorker instance : instances) {
                    instance.runOnce();
                }
                if (random.nextBoolean()) {
                    fal.deliverFinishedWebhooks(gateway(), clock.instant());
                }
                clock.advance(Duration.ofSeconds(1 + random.nextInt(90)));
            }

            fal.calm(marker);
            for (int round = 0; round < 400 && !allFinished(ids); round++) {
                fal.deliverFinishedWebhooks(gateway(), clock.instant());
                for (JobWorker instance : instances) {
                    WorkerRuns.untilIdle(instance);
                }
                clock.advance(Duration.ofSeconds(30));
            }
        } finally {
            instances.forEach(JobWorker::stop);
        }

        String seed = "seed " + SEED;
        String jobIds = ids.stream().map(id -> "'" + id + "'").collect(Collectors.joining(","));
        List<Map<String, Object>> rows = jdbc.sql("select id::text, status, cost_usd, lease_token from job where id in ("
                + jobIds + ")").query().listOfRows();
        assertThat(rows).as("no job lost (%s)", seed).hasSize(JOBS);
        assertThat(rows).as("every job ended (%s, %d instance crashes)", seed, crashes).allSatisfy(row ->
                assertThat(row.get("status")).isIn("completed", "failed", "cancelled"));
        assertThat(rows).as("nothing left leased (%s)", seed).allSatisfy(row -> assertThat(row.get("lease_token")).isNull());

        List<Map<String, Object>> ledger = jdbc.sql("select request_id, job_id::text, status, cost_usd from fal_request "
                + "where job_id in (" + jobIds + ")").query().listOfRows();
        for (Map<String, Object> job : rows) {
            List<Map<String, Object>> requests = ledger.stream().filter(r -> r.get("job_id").equals(job.get("id"))).toList();
            long booked = requests.stream().filter(r -> ((BigDecimal) r.get("cost_usd")).signum() > 0).count();
            long billedByFal = requests.stream().filter(r -> fal.billed((String) r.get("request_id"))).count();
            assertThat(booked).as("requests booked as billed for %s job %s = what fal billed (%s)", job.get("status"),
                    job.get("id"), seed).isEqualTo(billedByFal);
            if (job.get("status").equals("completed")) {
                assertThat(billedByFal).as("fal billed completed job %s once (%s)", job.get("id"), seed).isEqualTo(1);
            }
        }

        BigDecimal spend = rows.stream().map(r -> (BigDecimal) r.get("cost_usd")).reduce(BigDecimal.ZERO, BigDecimal::add);
        BigDecimal booked = ledger.stream().map(r -> (BigDecimal) r.get("cost_usd")).reduce(BigDecimal.ZERO, BigDecimal::add);
        assertThat(spend).as("spend equals the ledger (%s)", seed).isEqualByComparingTo(booked);

        Set<String> ours = new HashSet<>(ids);
        List<String> atFal = fal.requestIds().stream()
                .filter(r -> fal.webhookUrlOf(r) != null && ours.contains(lastSegment(fal.webhookUrlOf(r)))).toList();
        assertThat(ledger.stream().map(r -> (String) r.get("request_id")).toList())
                .as("every request fal holds for our jobs is in the ledger (%s)", seed)
                .containsExactlyInAnyOrderElementsOf(atFal);
        long falBilled = atFal.stream().filter(fal::billed).count();
        assertThat(booked).as("the books match fal's bill (%s)", seed)
                .isEqualByComparingTo(new BigDecimal("0.12").multiply(BigDecimal.valueOf(falBilled)));
    }

    private JobWorker instance() {
        return new JobWorker(claims, processor, settings, appClock, "chaos-" + UUID.randomUUID().toString().substring(0, 8));
    }

    /**
     * An instance dies (kill -9) in the middle of a round: after claiming, after marking a submit as started,
     * or after sending the submit, and never writes again. Its leases expire; the others take over.
     */
    private void crashMidRound(String owner, List<String> ids, Random random) {
        Instant now = clock.instant();
        // It had claimed some of the newest jobs, as the instance that accepted them would.
        List<UUID> claimed = jdbc.sql("""
                update job set lease_owner = :owner, lease_token = gen_random_uuid(), lease_expires_at = :until
                 where id in (select id from job
                               where id::text in (:ids) and status = 'queued' and submit_started_at is null
                                 and (lease_expires_at is null or lease_expires_at <= :now)
                               order by created_at desc limit :limit for update skip locked)
                returning id
                """).param("owner", owner).param("ids", ids).param("now", java.sql.Timestamp.from(now))
                .param("until", java.sql.Timestamp.from(now.plus(settings.lease()))).param("limit", 1 + random.nextInt(3))
                .query(UUID.class).list();
        for (UUID id : claimed) {
            Job job = jobs.findById(id).orElseThrow();
            int dieAt = random.nextInt(3);
            if (dieAt == 0) {
                continue; // died right after the claim
            }
            tx.executeWithoutResult(status -> jobs.findForUpdate(job.id()).orElseThrow().beginSubmit(now));
            if (dieAt == 2) {
                falClient.submit(job.input(), job.id()); // the request left; its answer dies with the process
            }
        }
    }

    private boolean allFinished(List<String> ids) {
        return ids.stream().allMatch(id -> {
            Job job = jobs.findById(UUID.fromString(id)).orElseThrow();
            return job.status().isTerminal() && job.nextAttemptAt() == null;
        });
    }

    private static String lastSegment(String url) {
        return url.substring(url.lastIndexOf('/') + 1);
    }
}
