package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Accepts that arrive together are committed together (one transaction for the group), and each keeps every
 * guarantee it had in a transaction of its own: budgets admit exactly, an Idempotency-Key makes one job, and a
 * job the database refuses fails alone. To gather a group for certain, the test holds the client's budget row:
 * both writers wait on it with one job each, and the jobs sent next queue up behind them.
 */
class GroupCommitTest extends IntegrationTest {

    private static final int GROUP = 10;

    @Autowired
    DataSource dataSource;
    @Autowired
    MeterRegistry meters;

    private String client;
    private String key;
    private final ExecutorService callers = Executors.newCachedThreadPool();

    @BeforeEach
    void clientWithBudget() {
        client = "group-" + UUID.randomUUID().toString().substring(0, 8);
        key = createKey(client, null, "jobs:create", "jobs:read");
        setBudget("1000.00");
    }

    @AfterEach
    void stopCallers() {
        callers.shutdownNow();
    }

    @Test
    void jobsArrivingTogetherAreCommittedInOneTransaction() throws Exception {
        DistributionSummary groups = meters.get("falgate.accept.group.size").summary();
        long groupsBefore = groups.count();
        double jobsBefore = groups.totalAmount();

        List<HttpResponse<String>> answers = inOneGroup(repeat(GROUP, () -> submit(null, "together")));

        assertThat(answers).extracting(HttpResponse::statusCode).containsOnly(202);
        assertThat(groups.count() - groupsBefore).as("two held jobs, then the whole group").isEqualTo(3);
        assertThat(groups.totalAmount() - jobsBefore).isEqualTo(GROUP + 2);
        assertThat(rowsOfClient()).isEqualTo(GROUP + 2);
    }

    @Test
    void aBudgetAdmitsExactlyWhatFitsWithinOneGroup() throws Exception {
        setBudget("0.84"); // 7 jobs: the 2 held ones, then 5 of the group

        List<HttpResponse<String>> answers = inOneGroup(repeat(GROUP, () -> submit(null, "budget")));

        assertThat(answers).filteredOn(r -> r.statusCode() == 202).hasSize(5);
        assertThat(answers).filteredOn(r -> r.statusCode() == 402).hasSize(5).allSatisfy(r ->
                assertThat(body(r).path("detail").asString()).contains("has 0.00 USD of its 0.84 USD budget left"));
        assertThat(body(get("/v1/clients/" + client + "/budget")).path("in_flight_usd").asString()).isEqualTo("0.84");
        assertThat(rowsOfClient()).isEqualTo(7);
    }

    @Test
    void theSameIdempotencyKeyTwiceInOneGroupMakesOneJob() throws Exception {
        String idempotencyKey = UUID.randomUUID().toString();
        String marker = "same key " + UUID.randomUUID();
        List<Callable<HttpResponse<String>>> requests = new ArrayList<>(
                repeat(3, () -> submit(idempotencyKey, marker)));
        requests.addAll(repeat(2, () -> submit(null, "other")));

        List<HttpResponse<String>> answers = inOneGroup(requests);

        List<HttpResponse<String>> keyed = answers.subList(0, 3);
        assertThat(keyed).filteredOn(r -> r.statusCode() == 202).hasSize(1);
        assertThat(keyed).filteredOn(r -> r.statusCode() == 200)
                .hasSize(2).allSatisfy(r -> assertThat(r.headers().firstValue("Idempotent-Replayed")).hasValue("true"));
        assertThat(keyed.stream().map(r -> body(r).path("id").asString()).distinct()).hasSize(1);
        assertThat(answers.subList(3, 5)).extracting(HttpResponse::statusCode).containsOnly(202);
        assertThat(jdbc.sql("select count(*) from job where idempotency_key = ?").param(idempotencyKey)
                .query(Long.class).single()).isEqualTo(1);
    }

    @Test
    void aJobTheDatabaseRefusesFailsAloneAndItsGroupIsCommitted() throws Exception {
        jdbc.sql("""
                create function refuse_poisoned_job() returns trigger language plpgsql as $$
                begin
                    if new.input::text like '%poison-pill%' then raise exception 'refused by the test'; end if;
                    return new;
                end $$""").update();
        jdbc.sql("create trigger refuse_poisoned_job before insert on job for each row "
                + "execute function refuse_poisoned_job()").update();
        try {
            List<Callable<HttpResponse<String>>> requests = new ArrayList<>();
            requests.add(() -> submit(null, "poison-pill"));
            requests.addAll(repeat(GROUP - 1, () -> submit(null, "healthy")));

            List<HttpResponse<String>> answers = inOneGroup(requests);

            assertThat(answers.get(0).statusCode()).isEqualTo(500);
            assertThat(answers.get(0).headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(answers.get(0).body()).doesNotContain("refused by the test");
            assertThat(answers.subList(1, GROUP)).extracting(HttpResponse::statusCode).containsOnly(202);
            assertThat(rowsOfClient()).isEqualTo(GROUP + 1);
            assertThat(jdbc.sql("select count(*) from job where input::text like '%poison-pill%'")
                    .query(Long.class).single()).isZero();
        } finally {
            jdbc.sql("drop trigger refuse_poisoned_job on job").update();
            jdbc.sql("drop function refuse_poisoned_job()").update();
        }
    }

    /**
     * Sends two jobs that block on the client's locked budget (one per writer), then {@code requests}, which
     * queue up; releases the lock once all of them wait, and returns their answers in order.
     */
    private List<HttpResponse<String>> inOneGroup(List<Callable<HttpResponse<String>>> requests)
            throws Exception {
        List<Future<HttpResponse<String>>> held = new ArrayList<>();
        List<Future<HttpResponse<String>>> answers = new ArrayList<>();
        try (Connection lock = dataSource.getConnection()) {
            lock.setAutoCommit(false);
            try (PreparedStatement select = lock.prepareStatement(
                    "select 1 from client_budget where client = ? for update")) {
                select.setString(1, client);
                select.executeQuery().close();
            }
            for (int writer = 1; writer <= 2; writer++) {
                held.add(callers.submit(() -> submit(null, "held")));
                int waiting = writer;
                awaitTrue(() -> lockWaiters() == waiting);
            }
            for (var request : requests) {
                answers.add(callers.submit(request));
            }
            awaitTrue(() -> meters.get("falgate.accept.waiting").gauge().value() == requests.size());
            lock.rollback();
        }
        for (Future<HttpResponse<String>> answer : held) {
            assertThat(answer.get().statusCode()).isEqualTo(202);
        }
        List<HttpResponse<String>> results = new ArrayList<>();
        for (Future<HttpResponse<String>> answer : answers) {
            results.add(answer.get());
        }
        return results;
    }

    private HttpResponse<String> submit(String idempotencyKey, String marker) {
        HttpRequest.Builder request = as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody(marker)));
        if (idempotencyKey != null) {
            request.header("Idempotency-Key", idempotencyKey);
        }
        return send(request);
    }

    private static List<Callable<HttpResponse<String>>> repeat(int times,
            Callable<HttpResponse<String>> request) {
        return Collections.nCopies(times, request);
    }

    private void setBudget(String monthlyUsd) {
        assertThat(send(request("/v1/clients/" + client + "/budget").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"monthly_usd\": \"" + monthlyUsd + "\"}")))
                .statusCode()).isEqualTo(200);
    }

    private long rowsOfClient() {
        return jdbc.sql("select count(*) from job where client = ?").param(client).query(Long.class).single();
    }

    private long lockWaiters() {
        return jdbc.sql("select count(*) from pg_stat_activity where datname = current_database() "
                + "and wait_event_type = 'Lock'").query(Long.class).single();
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (!condition.getAsBoolean()) {
            assertThat(Instant.now()).as("waited 10 s for the group to form").isBefore(deadline);
            Thread.sleep(5);
        }
    }
}
