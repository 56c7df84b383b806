package dev.falgate.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/** Spend reports that equal the sum over history, and budgets that hold under concurrent submits. */
class SpendAndBudgetTest extends IntegrationTest {

    @Autowired
    SpendBook spendBook;

    /** Where the shared clock was: these tests move it years ahead, and no later test should find it there. */
    private Instant clockBefore;

    @BeforeEach
    void rememberTheClock() {
        clockBefore = clock.instant();
    }

    @AfterEach
    void putTheClockBack() {
        clock.set(clockBefore);
    }

    @Test
    void spendEqualsTheSumOverHistoryForAMixOfOutcomesDaysAndClients() {
        LocalDate day1 = freeDays(LocalDate.of(2030, 1, 1), 3);
        clock.set(day1.atTime(9, 0).toInstant(ZoneOffset.UTC));
        String alpha = "alpha-" + UUID.randomUUID().toString().substring(0, 6);
        String beta = "beta-" + UUID.randomUUID().toString().substring(0, 6);
        String alphaKey = createKey(alpha, null, "jobs:create");
        String betaKey = createKey(beta, null, "jobs:create");

        submit(alphaKey, "ok");
        submit(alphaKey, "ok");
        submit(alphaKey, "[sim:fail]");
        submit(betaKey, "ok");
        String cancelled = submit(betaKey, "cancel me");
        send(as(betaKey, "/v1/jobs/" + cancelled + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
        finishAll();
        clock.set(day1.plusDays(1).atTime(15, 0).toInstant(ZoneOffset.UTC));
        submit(alphaKey, "ok");
        submit(betaKey, "ok");
        submit(betaKey, "ok");
        finishAll();

        String window = "from=" + day1 + "&to=" + day1.plusDays(2);
        List<JsonNode> ours = new ArrayList<>();
        BigDecimal reported = BigDecimal.ZERO;
        long reportedJobs = 0;
        for (String client : List.of(alpha, beta)) {
            JsonNode spend = body(get("/v1/spend?" + window + "&client=" + client));
            reported = reported.add(new BigDecimal(spend.path("total_usd").asString()));
            reportedJobs += spend.path("jobs").asLong();
            body(get("/v1/jobs?limit=200&client=" + client)).path("data").forEach(ours::add);
        }
        BigDecimal historySum = ours.stream().map(job -> new BigDecimal(job.path("cost_usd").asString()))
                .reduce(BigDecimal.ZERO, BigDecimal::add);

        assertThat(ours.stream().map(job -> job.path("status").asString()).toList())
                .contains("completed", "failed", "cancelled").hasSize(8);
        assertThat(reported).isEqualByComparingTo("0.72").isEqualByComparingTo(historySum);
        assertThat(reportedJobs).isEqualTo(8);

        JsonNode all = body(get("/v1/spend?" + window + "&group_by=client"));
        assertThat(all.path("currency").asString()).isEqualTo("USD");
        assertThat(groups(all)).containsEntry(alpha, "0.36").containsEntry(beta, "0.36");
        assertThat(all.path("groups").valueStream().map(g -> new BigDecimal(g.path("total_usd").asString()))
                .reduce(BigDecimal.ZERO, BigDecimal::add)).as("groups add up to the total")
                .isEqualByComparingTo(all.path("total_usd").asString());
        JsonNode byDay = body(get("/v1/spend?" + window + "&client=" + alpha + "&group_by=day"));
        assertThat(groups(byDay)).isEqualTo(Map.of(day1.toString(), "0.24", day1.plusDays(1).toString(), "0.12"));
        assertThat(body(get("/v1/spend?from=" + day1 + "T09:00:00Z&to=" + day1.plusDays(1) + "&client=" + beta))
                .path("total_usd").asString()).as("RFC 3339 bounds, half-open").isEqualTo("0.12");
    }

    @Test
    void jobsEndingTheSameDayBookOnSeveralRollupRowsThatStillSumToTheirCosts() {
        LocalDate day = freeDays(LocalDate.of(2040, 1, 1), 3);
        clock.set(day.atTime(12, 0).toInstant(ZoneOffset.UTC));
        String client = "busy-" + UUID.randomUUID().toString().substring(0, 6);
        String key = createKey(client, null, "jobs:create");
        for (int i = 0; i < 16; i++) {
            submit(key, "ok");
        }
        finishAll();

        List<Map<String, Object>> rows = jdbc.sql("select shard, total_usd, jobs from spend_daily where client = ?")
                .param(client).query().listOfRows();
        assertThat(rows).as("spread over shards, so transactions ending jobs do not queue on one row").hasSizeGreaterThan(1);
        assertThat(rows.stream().map(row -> (BigDecimal) row.get("total_usd")).reduce(BigDecimal.ZERO, BigDecimal::add))
                .isEqualByComparingTo("1.92");
        JsonNode byDay = body(get("/v1/spend?from=" + day + "&to=" + day.plusDays(1) + "&client=" + client
                + "&group_by=day"));
        assertThat(groups(byDay)).as("one group per day, whatever its shards").isEqualTo(Map.of(day.toString(), "1.92"));
        assertThat(byDay.path("jobs").asLong()).isEqualTo(16);

        clock.set(day.plusDays(1).atTime(0, 5).toInstant(ZoneOffset.UTC));
        spendBook.foldPastDays();
        spendBook.foldPastDays(); // again, as another instance would: nothing changes

        assertThat(jdbc.sql("select shard, total_usd, jobs from spend_daily where client = ?").param(client).query()
                .listOfRows()).as("the day is over: one row").singleElement()
                .satisfies(row -> assertThat((BigDecimal) row.get("total_usd")).isEqualByComparingTo("1.92"))
                .satisfies(row -> assertThat(((Number) row.get("jobs")).longValue()).isEqualTo(16));
        assertThat(groups(body(get("/v1/spend?from=" + day + "&to=" + day.plusDays(1) + "&client=" + client
                + "&group_by=day")))).isEqualTo(Map.of(day.toString(), "1.92"));
    }

    @Test
    void invalidSpendParametersAreNamed() {
        HttpResponse<String> response = get("/v1/spend?from=soon&group_by=week&colour=red");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(body(response).path("errors").valueStream().map(e -> e.path("field").asString()).toList())
                .containsExactlyInAnyOrder("from", "group_by", "colour");
        assertThat(get("/v1/spend?from=2026-11-02&to=2026-11-01").statusCode()).isEqualTo(400);
    }

    @Test
    void aBudgetOfFiveJobsAdmitsExactlyFiveOfTwentyConcurrentSubmits() throws Exception {
        String client = "budget-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create");
        HttpResponse<String> set = send(request("/v1/clients/" + client + "/budget").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"monthly_usd\": \"0.60\"}")));
        assertThat(set.statusCode()).isEqualTo(200);

        List<HttpResponse<String>> answers = concurrently(20, () -> send(as(key, "/v1/jobs")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody("budget " + UUID.randomUUID())))));

        assertThat(answers).filteredOn(r -> r.statusCode() == 202).hasSize(5);
        assertThat(answers).filteredOn(r -> r.statusCode() == 402).hasSize(15).allSatisfy(r -> {
            JsonNode problem = body(r);
            assertThat(problem.path("type").asString()).endsWith("/budget_exceeded");
            assertThat(problem.path("detail").asString()).contains("has 0.00 USD of its 0.60 USD budget left");
        });
        JsonNode budget = body(get("/v1/clients/" + client + "/budget"));
        assertThat(budget.path("monthly_usd").asString()).isEqualTo("0.60");
        assertThat(budget.path("spent_usd").asString()).isEqualTo("0.00");
        assertThat(budget.path("in_flight_usd").asString()).isEqualTo("0.60");
        assertThat(budget.path("month").asString()).isEqualTo(clock.instant().toString().substring(0, 7));

        String admitted = body(answers.stream().filter(r -> r.statusCode() == 202).findFirst().orElseThrow())
                .path("id").asString();
        send(as(key, "/v1/jobs/" + admitted + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(body(get("/v1/clients/" + client + "/budget")).path("in_flight_usd").asString())
                .as("a job that produced nothing releases its reservation").isEqualTo("0.48");
        assertThat(send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody("one more")))).statusCode()).isEqualTo(202);
    }

    @Test
    void budgetsNeedAValidAmount() {
        HttpResponse<String> response = send(request("/v1/clients/x/budget").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"monthly_usd\": -5}")));

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(body(response).path("errors").get(0).path("field").asString()).isEqualTo("monthly_usd");
        assertThat(get("/v1/clients/no-budget-" + UUID.randomUUID() + "/budget").statusCode()).isEqualTo(404);
    }

    private void finishAll() {
        for (int i = 0; i < 3; i++) {
            runWorker();
            clock.advance(Duration.ofSeconds(3));
        }
        runWorker();
    }

    private String submit(String key, String prompt) {
        HttpResponse<String> created = send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody(prompt + " " + UUID.randomUUID()))));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        return body(created).path("id").asString();
    }

    private static Map<String, String> groups(JsonNode spend) {
        return spend.path("groups").valueStream().collect(Collectors.toMap(g -> g.path("key").asString(),
                g -> g.path("total_usd").asString()));
    }

    private static <T> List<T> concurrently(int times, java.util.concurrent.Callable<T> call) throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(times);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < times; i++) {
                futures.add(callers.submit(() -> {
                    go.await();
                    return call.call();
                }));
            }
            go.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> future : futures) {
                results.add(future.get());
            }
            return results;
        } finally {
            callers.shutdownNow();
        }
    }


    /**
     * The first of {@code count} consecutive days from {@code from} on which no job has ended (a database reused
     * across runs keeps earlier runs' days): reports over them hold this test's jobs only, and a rerun picks the
     * same days as long as the database is fresh.
     */
    private LocalDate freeDays(LocalDate from, int count) {
        return jdbc.sql("""
                select d::date from generate_series(:from::date, :from::date + 36500, interval '1 day') d
                 where not exists (select 1 from job
                                    where completed_at >= d and completed_at < d + (:count || ' days')::interval)
                   and not exists (select 1 from spend_daily where day >= d::date and day < d::date + :count)
                 order by d limit 1
                """).param("from", from.toString()).param("count", count).query(LocalDate.class).single();
    }
}
