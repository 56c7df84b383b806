package dev.falgate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/** GET /v1/jobs: filters, newest first, a keyset cursor that neither skips nor repeats, CSV for spreadsheets. */
class HistoryTest extends IntegrationTest {

    @Test
    void pagingNeitherSkipsNorRepeatsWhileJobsArrive() {
        String client = "history-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create", "jobs:read");
        List<String> before = new ArrayList<>();
        for (int i = 0; i < 23; i++) {
            before.add(submit(key, "page " + i));
            clock.advance(Duration.ofMillis(1));
        }

        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            submit(key, "arriving while paging " + pages); // a writer keeps inserting
            clock.advance(Duration.ofMillis(1));
            JsonNode page = body(send(as(key, "/v1/jobs?limit=5&status=queued&created_from="
                    + URLEncoder.encode(clock.instant().minus(Duration.ofHours(1)).toString(), StandardCharsets.UTF_8)
                    + (cursor == null ? "" : "&cursor=" + cursor)).GET()));
            page.path("data").valueStream().forEach(job -> seen.add(job.path("id").asString()));
            cursor = page.path("next_cursor").isNull() ? null : page.path("next_cursor").asString();
            pages++;
        } while (cursor != null && pages < 50);

        assertThat(new HashSet<>(seen)).as("no repeats").hasSameSizeAs(seen);
        assertThat(seen).as("nothing skipped").containsAll(before);
        List<String> newestFirst = new ArrayList<>(before);
        java.util.Collections.reverse(newestFirst);
        assertThat(seen.stream().filter(before::contains).toList()).as("newest first").isEqualTo(newestFirst);
    }

    @Test
    void filtersByStatusClientAndTime() {
        String client = "filter-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create");
        String cancelled = submit(key, "to cancel");
        send(as(key, "/v1/jobs/" + cancelled + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
        clock.advance(Duration.ofMillis(1));
        String queued = submit(key, "stays queued");

        JsonNode onlyCancelled = body(get("/v1/jobs?client=" + client + "&status=cancelled"));
        JsonNode all = body(get("/v1/jobs?client=" + client));
        JsonNode future = body(get("/v1/jobs?client=" + client + "&created_from="
                + URLEncoder.encode(clock.instant().plusSeconds(60).toString(), StandardCharsets.UTF_8)));

        assertThat(ids(onlyCancelled)).containsExactly(cancelled);
        assertThat(ids(all)).containsExactly(queued, cancelled);
        assertThat(ids(future)).isEmpty();
        assertThat(all.path("next_cursor").isNull()).isTrue();
    }

    @Test
    void invalidParametersAreNamed() {
        HttpResponse<String> response = get("/v1/jobs?limit=500&status=done&created_from=yesterday&cursor=abc&colour=red");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(body(response).path("errors").valueStream().map(e -> e.path("field").asString()).toList())
                .containsExactlyInAnyOrder("limit", "status", "created_from", "cursor", "colour");
        assertThat(get("/v1/jobs?limit=0").statusCode()).isEqualTo(400);
        assertThat(get("/v1/jobs?limit=200").statusCode()).isEqualTo(200);
    }

    @Test
    void csvHasTheSameRows() {
        String client = "csv-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create");
        for (int i = 0; i < 7; i++) {
            submit(key, "csv " + i);
            clock.advance(Duration.ofMillis(1));
        }

        HttpResponse<String> csv = send(request("/v1/jobs?client=" + client).header("Accept", "text/csv").GET());
        List<String> json = ids(body(get("/v1/jobs?client=" + client)));

        assertThat(csv.statusCode()).isEqualTo(200);
        assertThat(csv.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("text/csv"));
        String[] lines = csv.body().split("\r\n");
        assertThat(lines[0]).isEqualTo(JobHistory.CSV_HEADER.strip());
        assertThat(List.of(lines).subList(1, lines.length).stream().map(line -> line.split(",")[0]).toList())
                .isEqualTo(json);
        assertThat(lines[1]).contains("," + client + ",queued,");
    }

    private String submit(String key, String prompt) {
        HttpResponse<String> created = send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody(prompt))));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        return body(created).path("id").asString();
    }

    private static List<String> ids(JsonNode page) {
        return page.path("data").valueStream().map(job -> job.path("id").asString()).toList();
    }

}
