package dev.falgate.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/** Dates, cursors and timestamps Java can parse but the database cannot hold are a 400 (or 401), never a 500. */
class OutOfRangeInputTest extends IntegrationTest {

    @Test
    void historyDatesBeyondWhatTheDatabaseHoldsAreNamed() {
        for (String field : List.of("created_from", "created_to")) {
            for (String date : List.of("-999999999-01-01T00:00:00Z", "+294277-01-01T00:00:00Z")) {
                HttpResponse<String> response = get("/v1/jobs?" + field + "=" + encoded(date));

                assertThat(response.statusCode()).as("%s=%s", field, date).isEqualTo(400);
                assertThat(fields(body(response))).containsExactly(field);
            }
        }
    }

    @Test
    void aCraftedCursorIsNotACursorThisApiGaveOut() {
        String crafted = Base64.getUrlEncoder().withoutPadding().encodeToString(
                (Long.MAX_VALUE + ":" + UUID.randomUUID()).getBytes(StandardCharsets.US_ASCII));

        HttpResponse<String> response = get("/v1/jobs?cursor=" + crafted);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(fields(body(response))).containsExactly("cursor");
    }

    @Test
    void spendRangesBeyondWhatTheDatabaseHoldsAreNamed() {
        HttpResponse<String> response = get("/v1/spend?from=" + encoded("+99999-01-01T00:00:00Z")
                + "&to=" + encoded("+100000-01-01T00:00:00Z"));

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(fields(body(response))).containsExactlyInAnyOrder("from", "to");
        assertThat(get("/v1/spend?from=0001-01-01&to=9999-12-31").statusCode()).as("the widest range it holds")
                .isEqualTo(200);
    }

    @Test
    void aWebhookTimestampBeyondJavasInstantIsJustStale() {
        String requestId = "req-" + UUID.randomUUID();
        byte[] body = ("{\"request_id\": \"" + requestId + "\", \"status\": \"OK\"}").getBytes(StandardCharsets.UTF_8);
        String farFuture = Long.toString(Long.MAX_VALUE - 1);

        int status = fal.postWebhook(URI.create(gateway() + "/fal/webhooks/" + UUID.randomUUID()), requestId, body,
                farFuture, fal.sign(requestId, farFuture, body));

        assertThat(status).isEqualTo(401);
    }

    private static String encoded(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    private static List<String> fields(JsonNode problem) {
        return problem.path("errors").valueStream().map(error -> error.path("field").asString()).toList();
    }
}
